import { type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type Clock, fields, type Logger, silentLogger, stringifyJson, systemClock } from '@xe/core-types';
import { serve } from '@hono/node-server';
import type { ApiApp } from './app.js';
import type { ApiDeps } from './deps.js';
import { ApiError, ApiErrorCodes, errorReply } from './errors.js';
import { HttpMetrics } from './metrics.js';
import { ipLimiter, type RateLimitOptions } from './rate-limit.js';
import { TunnelAuthenticator, type TunnelAuthVerifier } from './tunnel-auth.js';

export interface ApiServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** For tunnel upgrades: the lease lookup and `openTunnel`. */
  deps: Pick<ApiDeps, 'getLease' | 'openTunnel'>;
  /** The app's, so both share one replay cache. */
  tunnelAuth: TunnelAuthVerifier;
  /** Pass the app's so tunnel counters appear on /metrics. */
  metrics?: HttpMetrics;
  /** Per-IP limit on tunnel upgrades (the write bucket); `false` or absent: none. */
  rateLimit?: RateLimitOptions | false;
  clock?: Clock;
  logger?: Logger;
  /** For ordinary requests (ms); upgraded sockets have none. Node's defaults otherwise. */
  requestTimeoutMs?: number;
  headersTimeoutMs?: number;
  /** How often node checks those timeouts (ms); node's default otherwise. */
  connectionsCheckingIntervalMs?: number;
}

export interface ApiServer {
  url: string;
  port: number;
  server: Server;
  /** Stops listening, ends open tunnels and connections. */
  close(): Promise<void>;
}

const TUNNEL_PATH = /^\/tunnel\/([^/]*)\/tcp$/;

function refuse(socket: Duplex, err: unknown, log: Logger): void {
  const reply = errorReply(err);
  if (reply.unexpected) log.error('tunnel upgrade failed', { err });
  const body = stringifyJson(reply.body);
  const extra = reply.status === 405 ? 'Allow: POST\r\n' : '';
  socket.end(
    `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? ''}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`,
  );
  socket.once('finish', () => socket.destroy());
}

/**
 * Handles `upgrade` events: `POST /tunnel/{leaseHash}/tcp` with `Upgrade: tcp`. Runs the
 * entry checks, opens the provider stream, answers 101 and pipes bytes both ways until
 * either side ends; then both are closed.
 */
export function createTunnelUpgradeHandler(options: ApiServerOptions & { onSocket?: (s: Duplex, peer: Duplex) => void }) {
  const log = (options.logger ?? silentLogger).child('tunnel');
  const auth = new TunnelAuthenticator(options.deps, options.tunnelAuth);
  const metrics = options.metrics;
  const limiter = options.rateLimit ? ipLimiter(options.rateLimit.writes, options.rateLimit, options.clock ?? systemClock) : undefined;

  return async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const closed = new AbortController();
    const onEarlyClose = () => closed.abort(new ApiError(ApiErrorCodes.ABORTED, 'client went away'));
    socket.once('close', onEarlyClose);
    socket.on('error', () => undefined);
    let peer: Duplex | undefined;
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const m = TUNNEL_PATH.exec(url.pathname);
      if (m === null) throw new ApiError(ApiErrorCodes.ROUTE_NOT_FOUND, `no upgrade route ${url.pathname.slice(0, 200)}`);
      if (req.method !== 'POST') throw new ApiError(ApiErrorCodes.METHOD_NOT_ALLOWED, `method ${req.method} not allowed; use POST`);
      if ((req.headers.upgrade ?? '').toLowerCase() !== 'tcp') {
        throw new ApiError(ApiErrorCodes.UPGRADE_REQUIRED, `Upgrade: expected "tcp", got ${JSON.stringify(req.headers.upgrade ?? '')}`);
      }
      if (limiter !== undefined) {
        const wait = limiter.take(req.socket.remoteAddress ?? 'local');
        if (wait > 0) throw new ApiError(ApiErrorCodes.RATE_LIMITED, `rate limited; retry in ${wait}s`);
      }
      const leaseHash = fields.hash(m[1]!, 'leaseHash');
      const header = (name: string) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      const tunnelAuth = await auth.check(leaseHash, header('x-timestamp'), header('x-signature'), true);
      peer = await options.deps.openTunnel(leaseHash, tunnelAuth, { signal: closed.signal });
      if (closed.signal.aborted) {
        peer.destroy();
        return;
      }
      socket.removeListener('close', onEarlyClose);
      if ('setTimeout' in socket) (socket as Socket).setTimeout(0);
      if ('setNoDelay' in socket) (socket as Socket).setNoDelay(true);
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
      if (head.length > 0) peer.write(head);
      pipeBoth(socket, peer, metrics, log, leaseHash);
      options.onSocket?.(socket, peer);
      log.info('tunnel opened', { lease: leaseHash });
    } catch (err) {
      socket.removeListener('close', onEarlyClose);
      peer?.destroy();
      if (!socket.destroyed) refuse(socket, err, log);
    }
  };
}

function pipeBoth(a: Duplex, b: Duplex, metrics: HttpMetrics | undefined, log: Logger, lease: string): void {
  let bytes = 0;
  let done = false;
  metrics?.tunnelOpened();
  const finish = () => {
    if (done) return;
    done = true;
    a.destroy();
    b.destroy();
    metrics?.tunnelClosed(bytes);
    log.info('tunnel closed', { lease, bytes });
  };
  a.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  b.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  a.pipe(b);
  b.pipe(a);
  for (const s of [a, b]) {
    s.on('end', finish);
    s.on('close', finish);
    s.on('error', finish);
  }
}

/**
 * Serves `app` on `host:port` with @hono/node-server and the tunnel upgrade handler.
 * Resolves once listening.
 */
export async function startApiServer(app: ApiApp, options: ApiServerOptions): Promise<ApiServer> {
  const host = options.host ?? '127.0.0.1';
  const open = new Set<Duplex>();
  const metrics = options.metrics ?? new HttpMetrics();
  const handler = createTunnelUpgradeHandler({
    ...options,
    metrics,
    onSocket: (s, peer) => {
      open.add(s);
      open.add(peer);
      const forget = () => {
        open.delete(s);
        open.delete(peer);
      };
      s.once('close', forget);
      peer.once('close', forget);
    },
  });
  let server!: Server;
  let reject!: (err: Error) => void;
  const promise = new Promise<AddressInfo>((resolve, rej) => {
    reject = rej;
    const serverOptions = options.connectionsCheckingIntervalMs === undefined ? {} : { connectionsCheckingInterval: options.connectionsCheckingIntervalMs };
    server = serve({ fetch: app.fetch, hostname: host, port: options.port ?? 0, serverOptions }, (info) => resolve(info)) as Server;
    server.once('error', rej);
  });
  if (options.requestTimeoutMs !== undefined) server.requestTimeout = options.requestTimeoutMs;
  if (options.headersTimeoutMs !== undefined) server.headersTimeout = options.headersTimeoutMs;
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void handler(req, socket, head);
  });
  const info = await promise;
  server.removeListener('error', reject);
  const urlHost = info.address.includes(':') ? `[${info.address}]` : info.address;
  return {
    url: `http://${urlHost}:${info.port}`,
    port: info.port,
    server,
    close: async () => {
      const closed = new Promise<void>((res) => server.close(() => res()));
      for (const s of open) s.destroy();
      server.closeAllConnections();
      await closed;
    },
  };
}
