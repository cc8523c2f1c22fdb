import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { seededFake } from '../support/fake-deps.js';

// README example start
import { request } from 'node:http';
import { parseJson } from '@xe/core-types';
import { type ApiDeps, createApp, startApiServer, type TunnelAuthVerifier } from '@xe/api-server';

// `tunnelAuth`: the node passes @xe/crypto's `new TunnelAuthChecker({skewNs}, {clock})`;
// `headers`: what `xe-node ssh` sends, from @xe/crypto's `tunnelAuthHeaders(accessKey, leaseHash, nowNs)`.
export async function example(deps: ApiDeps, tunnelAuth: TunnelAuthVerifier, leaseHash: string, headers: Record<string, string>) {
  // One verifier for the app and the server: one replay cache.
  const app = createApp(deps, { operatorToken: 's3cret', corsOrigin: 'http://localhost:5173', tunnelAuth });

  // In process, as the tests do:
  const page = await app.request('/leases?state=accepted&limit=2');
  const leases = parseJson(await page.text()); // integers come back as bigint

  // On a socket, with the tunnel upgrade handler attached:
  const api = await startApiServer(app, { host: '127.0.0.1', port: 0, deps, tunnelAuth });
  const status = await new Promise<number>((resolve) => {
    const req = request(`${api.url}/tunnel/${leaseHash}/tcp`, {
      method: 'POST',
      headers: { Connection: 'Upgrade', Upgrade: 'tcp', ...headers },
    });
    req.on('upgrade', (res, socket) => {
      socket.end(); // a real client would speak SSH here
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => resolve(res.statusCode ?? 0));
    req.end();
  });
  await api.close();
  return { leases, status };
}
// README example end

describe('README example', () => {
  it('runs against the fake and matches the README text', async () => {
    const { ACCESS_PUB, START_TIME } = await import('../support/fake-deps.js');
    const { FakeTunnelVerifier, fakeTunnelHeaders } = await import('../support/fake-tunnel-auth.js');
    const deps = seededFake();
    const echo = (await import('node:net')).createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    deps.tunnelPort = (echo.address() as { port: number }).port;
    const accepted = deps.leases.find((l) => l.state === 'accepted')!;
    const headers = fakeTunnelHeaders(ACCESS_PUB, accepted.lease_hash, BigInt(Date.now()) * 1_000_000n);
    const { leases, status } = await example(deps, new FakeTunnelVerifier(), accepted.lease_hash, headers);
    expect(leases).toMatchObject([{ state: 'accepted', start_time: START_TIME }]);
    expect(status).toBe(101);
    await new Promise<void>((r) => echo.close(() => r()));

    const source = readFileSync(new URL('./readme-example.test.ts', import.meta.url), 'utf8');
    const block = source.slice(source.indexOf('// README example start\n') + 24, source.indexOf('// README example end'));
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${block}\`\`\``);
  });
});
