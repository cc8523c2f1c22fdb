import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * An in-package test double of the HTTP peer: a real `node:http` server on 127.0.0.1 that
 * answers fixed bytes per `"METHOD /path"` and records what it received. The client may
 * not depend on the server package, so this is what its tests talk to.
 */
export interface Canned {
  status: number;
  /** the exact body bytes */
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** never answer (for timeouts and aborts) */
  hang?: boolean;
  /** SSE: write these chunks one by one, then keep the stream open until the client goes */
  chunks?: string[];
  /** with `chunks`: end the response after the last one */
  end?: boolean;
}

export interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export class Peer {
  readonly received: Received[] = [];
  private readonly answers = new Map<string, Canned>();
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  /** answers the tunnel upgrade: 101 and an echo, when set */
  upgradeEcho = false;
  url = '';

  on(method: string, path: string, answer: Canned): this {
    this.answers.set(`${method} ${path}`, answer);
    return this;
  }

  json(method: string, path: string, status: number, body: string): this {
    return this.on(method, path, { status, body, contentType: 'application/json' });
  }

  last(): Received {
    const r = this.received.at(-1);
    if (r === undefined) throw new Error('nothing received');
    return r;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.on('upgrade', (req, socket: Socket) => {
      this.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: '' });
      if (!this.upgradeEcho) {
        socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"error":"X-Timestamp missing","code":"TUNNEL_AUTH_MISSING","retryable":false}');
        return;
      }
      socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: tcp\r\nconnection: Upgrade\r\n\r\n');
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '';
      this.received.push({ method: req.method ?? '', url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const path = url.split('?')[0]!;
      const answer = this.answers.get(`${req.method} ${path}`);
      if (answer === undefined) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"error":"no such route","code":"ROUTE_NOT_FOUND","retryable":false}');
        return;
      }
      if (answer.hang === true) return;
      const headers: Record<string, string> = { ...(answer.headers ?? {}) };
      if (answer.contentType !== undefined) headers['content-type'] = answer.contentType;
      if (answer.chunks !== undefined) {
        res.writeHead(answer.status, headers);
        res.flushHeaders();
        let i = 0;
        const next = () => {
          if (res.destroyed) return;
          if (i >= answer.chunks!.length) {
            if (answer.end === true) res.end();
            return;
          }
          res.write(answer.chunks![i++], () => setImmediate(next));
        };
        next();
        return;
      }
      res.writeHead(answer.status, headers);
      res.end(answer.body ?? '');
    });
  }
}
