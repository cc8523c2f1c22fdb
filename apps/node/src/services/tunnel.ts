import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { isHash, type Logger, parseJson, stringifyJson } from '@xe/core-types';
import type { TunnelAuthChecker, TunnelAuthFrame } from '@xe/crypto';
import { NodeError, NodeErrorCodes } from '../errors.js';

/** The opener's frame on `/xe/tunnel/1.0.0` (SPEC §9). */
export type TunnelAuth = TunnelAuthFrame;

const MAX_FRAME = 4096;
/** Tunnels one lease may have open at once on the provider; more are refused. */
export const MAX_TUNNELS_PER_LEASE = 16;
/** The opener waits this long for the provider's status byte unless its signal says otherwise. */
export const TUNNEL_OPEN_TIMEOUT_MS = 15_000;

/** Reads exactly `n` bytes from a stream, pushing back what is left over. */
export function readExact(stream: Duplex, n: number, signal?: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let have = 0;
    const cleanup = () => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onEnd);
      signal?.removeEventListener('abort', onAbort);
    };
    const onReadable = () => {
      let chunk: Buffer | null;
      while (have < n && (chunk = stream.read() as Buffer | null) !== null) {
        chunks.push(chunk);
        have += chunk.length;
      }
      if (have >= n) {
        cleanup();
        const all = Buffer.concat(chunks);
        if (all.length > n) stream.unshift(all.subarray(n));
        resolve(all.subarray(0, n));
      }
    };
    const onEnd = () => {
      cleanup();
      reject(new NodeError(NodeErrorCodes.TUNNEL_REFUSED, 'tunnel stream ended early'));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new NodeError(NodeErrorCodes.TUNNEL_REFUSED, `tunnel stream failed: ${err.message}`, { cause: err }));
    };
    const onAbort = () => {
      cleanup();
      reject(new NodeError(NodeErrorCodes.TUNNEL_REFUSED, 'tunnel open aborted'));
    };
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    onReadable();
  });
}

function lpFrame(data: Buffer): Buffer {
  const out = Buffer.alloc(8 + data.length);
  out.writeBigUInt64BE(BigInt(data.length));
  data.copy(out, 8);
  return out;
}

async function readLp(stream: Duplex, signal?: AbortSignal): Promise<Buffer> {
  const len = (await readExact(stream, 8, signal)).readBigUInt64BE();
  if (len > BigInt(MAX_FRAME)) throw new NodeError(NodeErrorCodes.TUNNEL_REFUSED, 'tunnel frame too large');
  return readExact(stream, Number(len), signal);
}

/** Opener side: sends the auth frame, reads the status byte. Resolves with the stream, now raw bytes to sshd. */
export async function openTunnelStream(stream: Duplex, auth: TunnelAuth, callerSignal?: AbortSignal, timeoutMs = TUNNEL_OPEN_TIMEOUT_MS): Promise<Duplex> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = callerSignal ? AbortSignal.any([callerSignal, deadline]) : deadline;
  stream.write(lpFrame(Buffer.from(stringifyJson(auth))));
  let status: Buffer;
  try {
    status = await readExact(stream, 1, signal);
  } catch (err) {
    stream.destroy();
    throw err;
  }
  if (status[0] === 0) return stream;
  const why = await readLp(stream, signal).then((b) => b.toString('utf8')).catch(() => 'refused');
  stream.destroy();
  throw new NodeError(NodeErrorCodes.TUNNEL_REFUSED, `provider refused the tunnel: ${why}`);
}

export interface TunnelLease {
  state: string;
  provider: string;
  access_pub_key: string;
}

/**
 * Provider side of `/xe/tunnel/1.0.0`: checks the opener's signature (SPEC §11) again, that
 * the lease is accepted and ours, answers 0x00 and pipes bytes to the VM's SSH port, or
 * 0x01 + lp(error text).
 */
export class TunnelServer {
  private readonly open = new Map<string, Set<Duplex | Socket>>();

  constructor(
    private readonly options: { self: string },
    private readonly components: {
      getLease(hash: string): Promise<TunnelLease | undefined>;
      dialSsh(leaseHash: string): Promise<Duplex>;
      /** The node's one tunnel-auth checker (skew, signature, replay cache), shared with the HTTP API. */
      auth: TunnelAuthChecker;
      logger: Logger;
    },
  ) {}

  /**
   * Checks an auth frame: the lease is ours and accepted, then the checker's skew,
   * signature and replay rules (SPEC §11). Throws a coded error with a reason fit to send back.
   */
  async check(auth: TunnelAuth): Promise<void> {
    const lease = await this.components.getLease(auth.lease_hash);
    if (!lease) throw new NodeError(NodeErrorCodes.LEASE_NOT_FOUND, 'unknown lease');
    if (lease.provider !== this.options.self) throw new NodeError(NodeErrorCodes.TUNNEL_REFUSED, 'not the provider of this lease');
    if (lease.state !== 'accepted') throw new NodeError(NodeErrorCodes.TUNNEL_REFUSED, `lease is ${lease.state}, not accepted`);
    this.components.auth.check(auth, lease.access_pub_key, { consume: true });
  }

  /** Serves one incoming tunnel stream. */
  async serve(stream: Duplex): Promise<void> {
    const { logger } = this.components;
    let auth: TunnelAuth;
    try {
      const frame = await readLp(stream, AbortSignal.timeout(10_000));
      const v = parseJson(frame.toString('utf8')) as Record<string, unknown>;
      if (!isHash(v.lease_hash) || typeof v.timestamp !== 'bigint' || typeof v.signature !== 'string') {
        throw new NodeError(NodeErrorCodes.TUNNEL_REFUSED, 'malformed tunnel request');
      }
      auth = { lease_hash: v.lease_hash, timestamp: v.timestamp, signature: v.signature };
      await this.check(auth);
      if (this.openCount(auth.lease_hash) >= MAX_TUNNELS_PER_LEASE) {
        throw new NodeError(NodeErrorCodes.TUNNEL_REFUSED, `lease has ${MAX_TUNNELS_PER_LEASE} tunnels open`);
      }
    } catch (err) {
      const why = err instanceof Error ? err.message : 'refused';
      stream.end(Buffer.concat([Buffer.from([1]), lpFrame(Buffer.from(why))]));
      logger.info('tunnel refused', { reason: why });
      return;
    }
    let ssh: Duplex;
    try {
      ssh = await this.components.dialSsh(auth.lease_hash);
    } catch (err) {
      stream.end(Buffer.concat([Buffer.from([1]), lpFrame(Buffer.from(`VM unreachable: ${(err as Error).message}`))]));
      return;
    }
    stream.write(Buffer.from([0]));
    this.track(auth.lease_hash, stream, ssh);
    logger.info('tunnel opened', { lease: auth.lease_hash });
  }

  /** Tunnels of a lease open here (each is a pair of streams). */
  openCount(leaseHash: string): number {
    return Math.ceil((this.open.get(leaseHash)?.size ?? 0) / 2);
  }

  private forget(leaseHash: string, set: Set<unknown>): void {
    if (set.size === 0 && this.open.get(leaseHash) === set) this.open.delete(leaseHash);
  }

  /** Tracks a stream of a lease that someone else pipes (closed at settle with the rest). */
  register(leaseHash: string, s: Duplex | Socket): void {
    let set = this.open.get(leaseHash);
    if (!set) {
      set = new Set();
      this.open.set(leaseHash, set);
    }
    const entry = set;
    entry.add(s);
    s.once('close', () => {
      entry.delete(s);
      this.forget(leaseHash, entry);
    });
  }

  /** Pipes two streams both ways; either end closes both; tracked per lease. */
  track(leaseHash: string, a: Duplex, b: Duplex | Socket): void {
    let set = this.open.get(leaseHash);
    if (!set) {
      set = new Set();
      this.open.set(leaseHash, set);
    }
    set.add(a);
    set.add(b);
    pipeBoth(a, b, () => {
      set.delete(a);
      set.delete(b);
      this.forget(leaseHash, set);
    });
  }

  /** Closes every tunnel of a lease (at settle). */
  closeLease(leaseHash: string): void {
    const set = this.open.get(leaseHash);
    if (!set) return;
    for (const s of set) s.destroy();
    this.open.delete(leaseHash);
  }

  closeAll(): void {
    for (const h of [...this.open.keys()]) this.closeLease(h);
  }
}

/** Pipes a ↔ b; when either ends or fails, both are closed and `done` runs once. */
export function pipeBoth(a: Duplex, b: Duplex, done: () => void = () => {}): void {
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    a.destroy();
    b.destroy();
    done();
  };
  a.pipe(b);
  b.pipe(a);
  for (const s of [a, b]) {
    s.once('close', finish);
    s.once('error', finish);
    s.once('end', () => {
      // half-close: pass the end on, then close once the other side is done too
      setTimeout(finish, 5000).unref();
    });
  }
}
