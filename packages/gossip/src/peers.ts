import type { Connection, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { isHash } from '@xe/core-types';
import type { NodeContext } from './context.js';
import { GossipError, GossipErrorCodes } from './errors.js';
import type { Hello } from './hello.js';
import type { NodeRecordStore } from './node-records.js';

/** Reaching peers: by multiaddr, by peer id, by an account's node record; each resolves after hello. */
export class Dialer {
  constructor(
    private readonly ctx: NodeContext,
    private readonly hello: Hello,
    private readonly records: NodeRecordStore,
  ) {}

  isConnected(peerId: string): boolean {
    return this.ctx.host !== undefined && this.ctx.host.getConnections(peerIdFromString(peerId)).length > 0;
  }

  /** Dials a multiaddr; resolves with the remote peer id once the hello succeeded. */
  async dial(addr: string, options: { signal?: AbortSignal } = {}): Promise<string> {
    let conn: Connection;
    try {
      conn = await this.ctx.node.dial(multiaddr(addr), options.signal ? { signal: options.signal } : {});
    } catch (cause) {
      throw new GossipError(GossipErrorCodes.PEER_UNREACHABLE, `cannot dial ${addr}`, { cause });
    }
    const peerId = conn.remotePeer.toString();
    await this.hello.wait(peerId, options.signal ?? AbortSignal.timeout(this.ctx.helloTimeoutMs));
    return peerId;
  }

  /** Connects to the node of `address` using its record's multiaddrs; resolves with its peer id after hello. */
  async dialAddress(address: string, options: { signal?: AbortSignal } = {}): Promise<string> {
    const record = this.records.get(address);
    if (!record) throw new GossipError(GossipErrorCodes.NODE_NOT_FOUND, `no node record for ${address}`);
    const signal = options.signal ?? AbortSignal.timeout(10_000);
    if (!this.isConnected(record.peer_id)) {
      const addrs = record.multiaddrs.map((m) => multiaddr(m.includes('/p2p/') ? m : `${m}/p2p/${record.peer_id}`));
      try {
        const conn = await this.ctx.node.dial(addrs, { signal });
        if (conn.remotePeer.toString() !== record.peer_id) {
          await conn.close();
          throw new GossipError(GossipErrorCodes.PEER_UNREACHABLE, "dialled peer is not the record's");
        }
      } catch (cause) {
        if (cause instanceof GossipError) throw cause;
        throw new GossipError(GossipErrorCodes.PEER_UNREACHABLE, `cannot reach the node of ${address}`, { cause });
      }
    }
    await this.hello.wait(record.peer_id, signal);
    return record.peer_id;
  }

  /** A peer id or an account address (64 hex) → a connected peer that completed hello. */
  async resolvePeer(target: string, signal: AbortSignal): Promise<PeerId> {
    if (isHash(target)) return peerIdFromString(await this.dialAddress(target, { signal }));
    let peer: PeerId;
    try {
      peer = peerIdFromString(target);
    } catch (cause) {
      throw new GossipError(GossipErrorCodes.INVALID_TARGET, `not a peer id or address: ${target}`, { cause });
    }
    if (!this.isConnected(target)) {
      const record = this.records.byPeerId(target);
      try {
        if (record) await this.dialAddress(record.address, { signal });
        else await this.ctx.node.dial(peer, { signal });
      } catch (cause) {
        if (cause instanceof GossipError) throw cause;
        throw new GossipError(GossipErrorCodes.PEER_UNREACHABLE, `cannot reach ${target}`, { cause });
      }
    }
    await this.hello.wait(target, signal);
    return peer;
  }

  async openProtocolStream(target: string, protocol: string, signal: AbortSignal): Promise<Stream> {
    const peer = await this.resolvePeer(target, signal);
    try {
      return await this.ctx.node.dialProtocol(peer, protocol, { signal });
    } catch (cause) {
      throw new GossipError(GossipErrorCodes.PEER_UNREACHABLE, `cannot open ${protocol} to ${target}`, { cause });
    }
  }
}
