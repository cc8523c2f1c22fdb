import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { H, hashOf, lease, nodeInfo, text } from '../support/bodies.js';
import { Peer } from '../support/peer.js';

// README example start
import { XeApiError, XeClient } from '@xe/client';

export async function example(baseUrl: string, operatorToken: string, accessPubKey: string) {
  const api = new XeClient({ baseUrl, operatorToken, timeoutMs: 10_000 });

  const node = await api.node();
  const confirmed: bigint = node.finality.confirmed_blocks; // 64-bit fields are exact bigints

  try {
    // Waits until the provider's accept is confirmed; a 504 names the lease it committed.
    const { lease_hash } = await api.requestLease({ vcpus: 1, memory_mb: 1024, duration: 3600, access_pub_key: accessPubKey });
    const lease = await api.getLease(lease_hash, { signal: AbortSignal.timeout(5_000) });
    return { confirmed, state: lease.state, cost: lease.cost, start_time: lease.start_time };
  } catch (err) {
    if (err instanceof XeApiError && err.code === 'ACCEPT_TIMEOUT') return { confirmed, pending: err.lease_hash };
    throw err; // err.status, err.code and err.retryable say what happened
  }
}
// README example end

const peer = new Peer();
beforeAll(() => peer.start());
afterAll(() => peer.stop());

describe('README example', () => {
  it('runs against an HTTP peer and matches the README text', async () => {
    peer.json('GET', '/node', 200, text(nodeInfo()));
    peer.json('POST', '/lease/request', 200, `{"lease_hash":"${H}"}`);
    peer.json('GET', `/leases/${H}`, 200, text(lease()));
    expect(await example(peer.url, 's3cret', hashOf('access'))).toEqual({
      confirmed: 18446744073709551615n,
      state: 'accepted',
      cost: 18446744073709551615n,
      start_time: 1709500180000000001n,
    });
    expect(peer.received[1]!.headers.authorization).toBe('Bearer s3cret');

    peer.json('POST', '/lease/request', 504, `{"error":"no accept in time","code":"ACCEPT_TIMEOUT","retryable":false,"lease_hash":"${H}"}`);
    expect(await example(peer.url, 's3cret', hashOf('access'))).toEqual({ confirmed: 18446744073709551615n, pending: H });

    const source = readFileSync(new URL('./readme-example.test.ts', import.meta.url), 'utf8');
    const block = source.slice(source.indexOf('// README example start\n') + 24, source.indexOf('// README example end'));
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${block}\`\`\``);
  });
});
