// Child process of bench/run.mjs: serves the leases with the API ("api") or a bare node:http server ("raw").
import { createServer } from 'node:http';
import { stringifyJson } from '@xe/core-types';
import { createApp, startApiServer } from '../dist/index.js';
import { benchDeps, makeLeases } from './fixtures.mjs';

const kind = process.argv[2];
const leases = makeLeases();

if (kind === 'api') {
  const deps = benchDeps(leases);
  const api = await startApiServer(createApp(deps, { rateLimit: false }), { deps, host: '127.0.0.1', port: 0 });
  process.send({ port: api.port });
} else {
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const offset = Number(url.searchParams.get('offset') ?? 0);
    const limit = Number(url.searchParams.get('limit') ?? 100);
    const body = stringifyJson(leases.slice(offset, offset + limit));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
}
