import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Attestation, stringifyJson, XeError } from '@xe/core-types';
import { type AttestationSigner, type AttestationTransport, type AttestRequest, parseAttestRequest, parseAttestResponse } from '../../src/index.js';

const STATUS: Record<string, number> = {
  INVALID_REQUEST: 400,
  NOT_A_TIMEKEEPER: 403,
  UNKNOWN_LEASE: 404,
  LEASE_NOT_ATTESTABLE: 409,
  RATE_LIMITED: 429,
};

const MAX_BODY = 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new XeError('INVALID_REQUEST', 'body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export interface HttpTimekeeperOptions {
  /** Hold every answer this long (a slow timekeeper); the wait ends early if the client goes away. */
  delayMs?: number;
}

/**
 * A timekeeper endpoint for tests: a real signer behind `POST /attest` on 127.0.0.1,
 * speaking JSON with the core-types codec; refusals are `{error, code}` bodies.
 * The requester is the `x-requester` header (standing in for the libp2p peer id).
 */
export class HttpTimekeeper {
  readonly server: Server;
  port = 0;
  /** Requests received, and requests whose client went away before the answer. */
  received = 0;
  abandoned = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly abandonWaiters: Array<() => void> = [];

  constructor(
    readonly signer: AttestationSigner,
    private readonly options: HttpTimekeeperOptions = {},
  ) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => this.reply(res, 500, { error: String(err), code: 'INTERNAL' }));
    });
  }

  static async start(signer: AttestationSigner, options: HttpTimekeeperOptions = {}): Promise<HttpTimekeeper> {
    const t = new HttpTimekeeper(signer, options);
    await new Promise<void>((resolve, reject) => {
      t.server.once('error', reject);
      t.server.listen(0, '127.0.0.1', () => resolve());
    });
    t.port = (t.server.address() as AddressInfo).port;
    return t;
  }

  /** Resolves once `n` requests were abandoned by their clients. */
  async waitAbandoned(n: number): Promise<void> {
    while (this.abandoned < n) await new Promise<void>((resolve) => this.abandonWaiters.push(resolve));
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST' || req.url !== '/attest') return this.reply(res, 404, { error: 'not found', code: 'NOT_FOUND' });
    this.received++;
    const text = await readBody(req);
    if (this.options.delayMs !== undefined) {
      const gone = await this.hold(res, this.options.delayMs);
      if (gone) return;
    }
    try {
      const parsed = parseAttestRequest(text);
      const requester = req.headers['x-requester'];
      const attestation = await this.signer.sign(parsed, { requester: typeof requester === 'string' ? requester : String(req.socket.remoteAddress) });
      this.reply(res, 200, attestation);
    } catch (err) {
      const code = err instanceof XeError ? err.code : 'INTERNAL';
      this.reply(res, STATUS[code] ?? 500, { error: err instanceof Error ? err.message : String(err), code });
    }
  }

  /** Waits `ms`; true when the client went away first. */
  private hold(res: ServerResponse, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const onClose = () => {
        clearTimeout(timer);
        this.timers.delete(timer);
        this.abandoned++;
        for (const w of this.abandonWaiters.splice(0)) w();
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        res.off('close', onClose);
        resolve(false);
      }, ms);
      this.timers.add(timer);
      res.once('close', onClose);
    });
  }

  private reply(res: ServerResponse, status: number, body: unknown): void {
    if (res.headersSent || res.destroyed) return;
    const text = stringifyJson(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
}

/**
 * The client side: an AttestationTransport over HTTP to the test timekeepers. Maps an
 * error body back to a coded error; a refused connection is `UNREACHABLE`.
 */
export class HttpAttestationTransport implements AttestationTransport {
  constructor(
    private readonly ports: ReadonlyMap<string, number>,
    private readonly requester: string,
  ) {}

  requestAttestation(timekeeperPubKey: string, req: AttestRequest, options: { signal: AbortSignal }): Promise<Attestation> {
    const port = this.ports.get(timekeeperPubKey);
    if (port === undefined) return Promise.reject(new XeError('UNREACHABLE', 'no address known for this timekeeper'));
    const body = stringifyJson(req);
    return new Promise<Attestation>((resolve, reject) => {
      const r = request(
        {
          host: '127.0.0.1',
          port,
          path: '/attest',
          method: 'POST',
          agent: false,
          signal: options.signal,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-requester': this.requester },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            try {
              resolve(parseAttestResponse(Buffer.concat(chunks).toString('utf8')));
            } catch (err) {
              reject(err);
            }
          });
        },
      );
      r.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET') {
          reject(new XeError('UNREACHABLE', `${err.code} 127.0.0.1:${port}`, { cause: err }));
        } else reject(err);
      });
      r.end(body);
    });
  }
}
