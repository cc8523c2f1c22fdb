import { createHash } from 'node:crypto';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { gossipsub } from '@libp2p/gossipsub';
import { createTopicScoreParams } from '@libp2p/gossipsub/score';
import { identify } from '@libp2p/identify';
import { tcp } from '@libp2p/tcp';
import { GOSSIP_MAX_MESSAGE_BYTES } from '@xe/core-types';
import { createLibp2p } from 'libp2p';
import type { GossipNodeOptions, Host } from './context.js';
import { libp2pPrivateKey } from './keys.js';

/** Inbound gossip RPC frames may carry protobuf framing around a 256 KiB message. */
const GOSSIP_RPC_ENVELOPE_BYTES = 64 * 1024;

/**
 * Builds the libp2p host: TCP + Noise + Yamux + identify + GossipSub (StrictNoSign: messages
 * are signed by their XE authors, not by libp2p). Each topic's only score term is invalid
 * deliveries; `isBanned` gates dials and connections both ways.
 */
export async function createHost(o: GossipNodeOptions, topics: Iterable<string>, isBanned: (peerId: string) => boolean): Promise<Host> {
  const privateKey = await libp2pPrivateKey(o.key);
  const scoreTopics = Object.fromEntries(
    [...new Set(topics)].map((t) => [
      t,
      createTopicScoreParams({
        topicWeight: 1,
        timeInMeshWeight: 0,
        firstMessageDeliveriesWeight: 0,
        meshMessageDeliveriesWeight: 0,
        meshFailurePenaltyWeight: 0,
        invalidMessageDeliveriesWeight: -1,
        invalidMessageDeliveriesDecay: 0.5,
      }),
    ]),
  );
  const libp2p = await createLibp2p({
    privateKey,
    addresses: {
      listen: [`/ip4/${o.listen?.host ?? '0.0.0.0'}/tcp/${o.listen?.port ?? 0}`],
      ...(o.announce ? { announce: o.announce } : {}),
    },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: {
      denyDialPeer: (peerId) => isBanned(peerId.toString()),
      denyInboundEncryptedConnection: (peerId) => isBanned(peerId.toString()),
      denyOutboundEncryptedConnection: (peerId) => isBanned(peerId.toString()),
    },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        // Every XE message carries its own signature (blocks, votes, records, marketplace), so
        // libp2p's per-message envelope signature only cost a key import and a verification
        // per message on every node (the largest item of a node's CPU under a flood).
        globalSignaturePolicy: 'StrictNoSign',
        emitSelf: false,
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        heartbeatInterval: o.gossipHeartbeatMs ?? 1000,
        maxInboundDataLength: GOSSIP_MAX_MESSAGE_BYTES + GOSSIP_RPC_ENVELOPE_BYTES,
        msgIdFn: (msg) => new Uint8Array(createHash('sha256').update(msg.topic).update('\0').update(msg.data).digest()),
        scoreParams: { topics: scoreTopics },
      }),
    },
  });
  return libp2p as unknown as Host;
}
