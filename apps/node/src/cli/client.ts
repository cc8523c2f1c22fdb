import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { type JsonValue, parseJson, stringifyJson } from '@xe/core-types';
import { signTunnelAuth, keyPairFromSeed } from '@xe/crypto';
import { NodeError, NodeErrorCodes } from '../errors.js';

/** A small client of the node's HTTP API (used by the CLI and the tests). */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  async call(method: string, path: string, body?: unknown, opts: { auth?: boolean; timeoutMs?: number } = {}): Promise<JsonValue> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (opts.auth && this.token) headers.authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method,
        headers,
        ...(body !== undefined ? { body: stringifyJson(body) } : {}),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
      });
    } catch (err) {
      throw new NodeError(NodeErrorCodes.CLIENT, `cannot reach the node at ${this.baseUrl}: ${(err as Error).message} (is it running? pass --node URL)`);
    }
    const text = await res.text();
    let value: JsonValue;
    try {
      value = text === '' ? null : parseJson(text);
    } catch {
      value = text;
    }
    if (!res.ok) {
      const o = (value ?? {}) as Record<string, JsonValue>;
      const msg = typeof o === 'object' && o && typeof o.error === 'string' ? o.error : String(text).slice(0, 200);
      const code = typeof o === 'object' && o && typeof o.code === 'string' ? o.code : `HTTP_${res.status}`;
      throw new NodeError(NodeErrorCodes.CLIENT, `${method} ${path} → ${res.status} ${code}: ${msg}`, {
        details: { status: res.status, code, body: value },
      });
    }
    return value;
  }
}

/**
 * Opens the TCP tunnel of a lease (SPEC §11): `POST /tunnel/{hash}/tcp` with
 * `Upgrade: tcp`, signed with the lease's access key. Resolves with the raw socket.
 */
export function openTunnel(baseUrl: string, leaseHash: string, accessSeed: Uint8Array, nowNs: bigint): Promise<Socket> {
  const key = keyPairFromSeed(accessSeed);
  const signature = signTunnelAuth(key, leaseHash, nowNs);
  const url = new URL(`/tunnel/${leaseHash}/tcp`, baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: 'POST',
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'tcp',
        'X-Timestamp': nowNs.toString(),
        'X-Signature': signature,
      },
    });
    req.on('upgrade', (res, socket, head) => {
      if (res.statusCode !== 101) {
        socket.destroy();
        reject(new NodeError(NodeErrorCodes.TUNNEL_REFUSED, `tunnel refused: HTTP ${res.statusCode}`));
        return;
      }
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let msg = text;
        try {
          const v = parseJson(text) as { error?: string; code?: string };
          msg = `${v.code ?? ''} ${v.error ?? ''}`.trim();
        } catch {}
        reject(new NodeError(NodeErrorCodes.TUNNEL_REFUSED, `tunnel refused: HTTP ${res.statusCode} ${msg}`));
      });
    });
    req.on('error', (err) => reject(new NodeError(NodeErrorCodes.CLIENT, `cannot reach the node at ${baseUrl}: ${err.message}`)));
    req.end();
  });
}
