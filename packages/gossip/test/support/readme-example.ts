import { type JsonValue, TOPICS } from '@xe/core-types';
import { keyPairFromSeed } from '@xe/crypto';
import { GossipNode, reject } from '../../src/index.js';

export async function example(): Promise<JsonValue> {
  const network = { networkId: 'devnet-1', networkHash: 'ab'.repeat(32), listen: { host: '127.0.0.1', port: 0 } };
  const aliceKey = keyPairFromSeed(new Uint8Array(32).fill(1));
  const alice = new GossipNode({ ...network, key: aliceKey, roles: ['timekeeper'] });
  alice.handle('/xe/attest/1.0.0', async (req, { peerId }) => ({ seen: req, from: peerId }));
  alice.subscribe(
    TOPICS.marketplace,
    (msg) => (typeof msg === 'object' && msg !== null && 'type' in msg ? { action: 'accept' } : reject('invalid_shape')),
    (msg, { from }) => void [msg, from], // hand the offer to the marketplace service
  );
  await alice.start();

  const bob = new GossipNode({ ...network, key: keyPairFromSeed(new Uint8Array(32).fill(2)), bootstrap: alice.multiaddrs() });
  const hello = new Promise((resolve) => bob.once('peer:hello', resolve));
  await bob.start();
  await hello;
  await bob.publish(TOPICS.marketplace, { type: 'offer', request_id: 'r1' });

  // Alice's signed node record reaches Bob on connect; then a direct call by account address.
  while (!bob.findNode(aliceKey.address)) await new Promise((r) => setTimeout(r, 20));
  const answer = await bob.request(aliceKey.address, '/xe/attest/1.0.0', { lease_hash: 'cd'.repeat(32) }, { timeoutMs: 5000 });
  await Promise.all([bob.stop(), alice.stop()]);
  return answer;
}
