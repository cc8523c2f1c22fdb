import type { Duplex } from 'node:stream';
import type { Connection, Stream } from '@libp2p/interface';
import { ErrorCodes, isXeError, type JsonValue, parseJson, RateLimiter } from '@xe/core-types';
import { type NodeContext, perMinute } from './context.js';
import { GossipError, GossipErrorCodes } from './errors.js';
import { encodeJsonFrame, StreamReader, writeBytes } from './frames.js';
import type { Hello } from './hello.js';
import type { Dialer } from './peers.js';

const DEFAULT_MAX_REQUEST_BYTES = 64 * 1024;
const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
const MAX_OUTBOUND_REQUEST_BYTES = 4 * 1024 * 1024;

export interface HandleOptions {
  /** Largest request frame accepted (default 64 KiB); bigger → REQUEST_TOO_LARGE. */
  maxRequestBytes?: number;
  /** Requests per peer per minute (default 600); beyond → RATE_LIMITED. */
  ratePerMinute?: number;
  /** The handler's signal aborts after this (default 30 s). */
  timeoutMs?: number;
}

export interface RequestContext {
  peerId: string;
  signal: AbortSignal;
}

export type RequestHandler = (req: JsonValue, ctx: RequestContext) => Promise<JsonValue>;

export interface RequestOptions {
  /** Whole call including dial (default 10 s); past it → TIMEOUT. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Largest response frame accepted (default 1 MiB); bigger → RESPONSE_TOO_LARGE. */
  maxResponseBytes?: number;
}

export type StreamHandler = (duplex: Duplex, ctx: { peerId: string; protocol: string }) => void;

interface HandlerEntry {
  handler: RequestHandler;
  maxRequestBytes: number;
  timeoutMs: number;
  limiter: RateLimiter;
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Request/response protocols: one request frame, one response frame (`{result}` or `{error, code}`). */
export class Rpc {
  private readonly handlers = new Map<string, HandlerEntry>();

  constructor(
    private readonly ctx: NodeContext,
    private readonly hello: Hello,
    private readonly dialer: Dialer,
  ) {}

  handle(protocol: string, handler: RequestHandler, options: HandleOptions = {}): void {
    this.handlers.set(protocol, {
      handler,
      maxRequestBytes: options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
      timeoutMs: options.timeoutMs ?? 30_000,
      limiter: new RateLimiter(perMinute(options.ratePerMinute ?? 600), { clock: this.ctx.clock }),
    });
    if (this.ctx.running) this.register(protocol).catch((err) => this.ctx.log.warn('handler registration failed', { protocol, err }));
  }

  /** Registers every handler with the host (at start). */
  async start(): Promise<void> {
    for (const protocol of this.handlers.keys()) await this.register(protocol);
  }

  private async register(protocol: string): Promise<void> {
    await this.ctx.node.handle(protocol, (stream, conn) => this.serve(protocol, stream, conn), { force: true });
  }

  private async serve(protocol: string, stream: Stream, conn: Connection): Promise<void> {
    const entry = this.handlers.get(protocol);
    const peerId = conn.remotePeer.toString();
    const signal = AbortSignal.any([AbortSignal.timeout(entry?.timeoutMs ?? 30_000), this.ctx.stopSignal]);
    const response = await this.answer(protocol, entry, stream, peerId, signal);
    try {
      await writeBytes(stream, encodeJsonFrame(response), signal);
      await stream.close({ signal });
    } catch {
      stream.abort(new Error('response not delivered'));
    }
  }

  private async answer(protocol: string, entry: HandlerEntry | undefined, stream: Stream, peerId: string, signal: AbortSignal): Promise<JsonValue> {
    const fail = (code: string, error: string): JsonValue => {
      this.ctx.counters.inc('xe_requests_served_total', { protocol, result: code.toLowerCase() });
      return { error, code };
    };
    if (!entry) return fail('UNKNOWN_PROTOCOL', 'no handler');
    const allowed = entry.limiter.allow(peerId);
    let req: JsonValue | null;
    try {
      await this.hello.wait(peerId, signal);
      req = await new StreamReader(stream).readJson(entry.maxRequestBytes, signal);
    } catch (err) {
      if (isXeError(err) && err.code === GossipErrorCodes.FRAME_TOO_LARGE) return fail('REQUEST_TOO_LARGE', 'request too large');
      if (signal.aborted) return fail(ErrorCodes.TIMEOUT, 'request not received in time');
      return fail('INVALID_REQUEST', 'malformed request');
    }
    if (!allowed) return fail(ErrorCodes.RATE_LIMITED, 'rate limited');
    if (req === null) return fail('INVALID_REQUEST', 'empty request');
    try {
      const result = await entry.handler(req, { peerId, signal });
      this.ctx.counters.inc('xe_requests_served_total', { protocol, result: 'ok' });
      return { result };
    } catch (err) {
      if (isXeError(err)) return fail(err.code, err.message);
      if (signal.aborted) return fail(ErrorCodes.TIMEOUT, 'handler timed out');
      this.ctx.log.warn('request handler failed', { protocol, err });
      return fail(ErrorCodes.INTERNAL, 'internal error');
    }
  }

  async request(target: string, protocol: string, req: JsonValue | object, options: RequestOptions = {}): Promise<JsonValue> {
    const frame = encodeJsonFrame(req);
    if (frame.length > MAX_OUTBOUND_REQUEST_BYTES) throw new GossipError(GossipErrorCodes.REQUEST_TOO_LARGE, 'request too large');
    const timeoutMs = options.timeoutMs ?? 10_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signals = [timeout, this.ctx.stopSignal];
    if (options.signal) signals.push(options.signal);
    const signal = AbortSignal.any(signals);
    const mapAbort = (err: unknown): GossipError => {
      if (timeout.aborted) return new GossipError(GossipErrorCodes.TIMEOUT, `${protocol}: no response within ${timeoutMs} ms`, { cause: err });
      if (signal.aborted) return new GossipError(GossipErrorCodes.ABORTED, `${protocol}: aborted`, { cause: err });
      if (err instanceof GossipError) return err;
      return new GossipError(GossipErrorCodes.STREAM_CLOSED, `${protocol}: stream failed`, { cause: err });
    };
    const stream = await this.dialer.openProtocolStream(target, protocol, signal).catch((err) => {
      throw signal.aborted ? mapAbort(err) : err;
    });
    let payload: Uint8Array | null;
    try {
      await writeBytes(stream, frame, signal);
      await stream.close({ signal });
      payload = await new StreamReader(stream).readFrame(options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES, signal);
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
      if (isXeError(err) && err.code === GossipErrorCodes.FRAME_TOO_LARGE) {
        throw new GossipError(GossipErrorCodes.RESPONSE_TOO_LARGE, `${protocol}: response too large`, { cause: err });
      }
      throw mapAbort(err);
    }
    if (payload === null) throw new GossipError(GossipErrorCodes.PROTOCOL_ERROR, `${protocol}: no response`);
    let res: JsonValue;
    try {
      res = parseJson(textDecoder.decode(payload));
    } catch (cause) {
      throw new GossipError(GossipErrorCodes.PROTOCOL_ERROR, `${protocol}: malformed response`, { cause });
    }
    if (res !== null && typeof res === 'object' && !Array.isArray(res)) {
      if ('result' in res) return res.result as JsonValue;
      if (typeof res.code === 'string') {
        const message = typeof res.error === 'string' ? res.error : 'remote error';
        if (res.code === ErrorCodes.RATE_LIMITED) throw new GossipError(GossipErrorCodes.RATE_LIMITED, `${protocol}: rate limited by peer`);
        throw new GossipError(GossipErrorCodes.REMOTE_ERROR, `${protocol}: ${message}`, { remoteCode: res.code, remoteMessage: message });
      }
    }
    throw new GossipError(GossipErrorCodes.PROTOCOL_ERROR, `${protocol}: malformed response`);
  }
}
