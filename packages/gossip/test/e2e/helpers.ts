import { TOPICS } from '@xe/core-types';
import { GossipNode, type GossipNodeComponents, type GossipNodeOptions } from '../../src/index.js';
import { keyFor, NETWORK_HASH, NETWORK_ID } from '../fixtures/chain.mjs';

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 15_000, everyMs = 20): Promise<NonNullable<Awaited<T>>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<Awaited<T>>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export class Nodes {
  readonly all: GossipNode[] = [];

  make(label: string, options: Partial<GossipNodeOptions> = {}, components: GossipNodeComponents = {}): GossipNode {
    const node = new GossipNode(
      {
        key: keyFor(`node/${label}`),
        networkId: NETWORK_ID,
        networkHash: NETWORK_HASH,
        listen: { host: '127.0.0.1', port: 0 },
        gossipHeartbeatMs: 100,
        ...options,
      },
      components,
    );
    this.all.push(node);
    return node;
  }

  async start(label: string, options: Partial<GossipNodeOptions> = {}, components: GossipNodeComponents = {}): Promise<GossipNode> {
    const node = this.make(label, options, components);
    await node.start();
    return node;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.all.map((n) => n.stop()));
    this.all.length = 0;
  }
}

export function meshed(node: GossipNode, peers: GossipNode[], topic: string = TOPICS.blocks): boolean {
  const mesh = node.meshPeers(topic);
  return peers.every((p) => mesh.includes(p.peerId));
}
