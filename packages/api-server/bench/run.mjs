// pnpm bench: GET /leases (a 100-lease page out of 10,000) on the API vs a bare node:http
// server serialising the same objects with the same codec, in one run, rate limits off.
// Each server runs in its own child process; autocannon runs here.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const PATH = '/leases?offset=5000&limit=100';
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WARMUP_SECONDS = 2;
const serveScript = fileURLToPath(new URL('./serve.mjs', import.meta.url));

async function start(kind) {
  const child = fork(serveScript, [kind], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}${PATH}` };
}

async function stop(child) {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function measure(url) {
  await autocannon({ url, connections: CONNECTIONS, duration: WARMUP_SECONDS });
  const r = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return r.requests.average;
}

const results = {};
for (const kind of ['raw', 'api']) {
  const { child, url } = await start(kind);
  try {
    results[kind] = await measure(url);
  } finally {
    await stop(child);
  }
}

const context = { path: PATH, leases_total: 10000, page: 100, connections: CONNECTIONS, seconds: SECONDS, tool: 'autocannon 9.0.0' };
console.log(JSON.stringify({ bench: 'api_leases_rps', value: Math.round(results.api), unit: 'req/s', ...context }));
console.log(JSON.stringify({ bench: 'raw_http_rps', value: Math.round(results.raw), unit: 'req/s', ...context }));
console.log(JSON.stringify({ bench: 'api_leases_vs_raw_http', value: Number((results.api / results.raw).toFixed(3)), unit: 'ratio', target: 0.8 }));
