import { TOPICS } from '@xe/core-types';
import { GossipNode, type GossipNodeComponents, type GossipNodeOptions } from '../../src/index.js';
import { keyFor, NETWORK_HASH, NETWORK_ID } from './chain.mjs';

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
