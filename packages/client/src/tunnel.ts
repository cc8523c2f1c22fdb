import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ROUTES_BY_ID } from '@xe/api-contract';
import { parseJson } from '@xe/core-types';
import { ClientErrorCodes, XeApiError } from './errors.js';
import { type CallOptions, deadline, failure, inputError, routeUrl, type TransportOptions } from './transport.js';

export interface TunnelCredentials {
  /** X-Timestamp: unix ns */
  timestamp: bigint;
  /** X-Signature: 128 hex, Ed25519 by the lease's access key (SPEC §11; @xe/crypto's tunnelAuthHeaders makes both) */
  signature: string;
}

const MAX_REFUSAL_BYTES = 64 * 1024;

function refusal(res: IncomingMessage): Promise<XeApiError> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = () => {
      const status = res.statusCode ?? 0;
      let body: Record<string, unknown> | undefined;
      try {
        const v = parseJson(Buffer.concat(chunks).toString('utf8'));
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) body = v as Record<string, unknown>;
      } catch {}
      const code = typeof body?.code === 'string' ? body.code : ClientErrorCodes.HTTP_ERROR;
      const message = typeof body?.error === 'string' ? body.error : `HTTP ${status}`;
      const retryable = typeof body?.retryable === 'boolean' ? body.retryable : status === 502 || status === 503;
      resolve(new XeApiError(code, message, body === undefined ? { status, retryable } : { status, retryable, body }));
    };
    res.on('data', (c: Buffer) => {
      size += c.byteLength;
      if (size > MAX_REFUSAL_BYTES) res.destroy();
      else chunks.push(c);
    });
    res.on('end', finish);
    res.on('close', finish);
    res.on('error', finish);
  });
}

/**
 * `POST /tunnel/{leaseHash}/tcp` with `Connection: Upgrade`: resolves with the raw byte
 * stream to the lease VM's SSH port once the node answers 101. Node.js only (node:http).
 * `timeoutMs` and `signal` bound the wait for the 101; the stream is then the caller's.
 */
export async function openTunnel(options: TransportOptions, leaseHash: string, auth: TunnelCredentials, callOptions: CallOptions = {}): Promise<Duplex> {
  const route = ROUTES_BY_ID.openTunnel;
  const url = routeUrl(options.baseUrl, route, { params: { leaseHash } });
  const headers = { ...options.headers, connection: 'Upgrade', upgrade: 'tcp', 'x-timestamp': auth.timestamp.toString(), 'x-signature': auth.signature };
  const r = route.headers.safeParse(headers);
  if (!r.success) throw inputError('headers', r.error, headers);
  const http = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const { signal, done } = deadline(callOptions, options.timeoutMs);
  try {
    return await new Promise<Duplex>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const req = http.request(url, { method: 'POST', headers, signal });
      req.on('upgrade', (res, socket, head) => {
        if (res.statusCode !== 101) {
          socket.destroy();
          reject(new XeApiError(ClientErrorCodes.INVALID_RESPONSE, `upgrade answered ${res.statusCode}`, { status: res.statusCode ?? 0, retryable: false }));
          return;
        }
        if (head.byteLength > 0) socket.unshift(head);
        resolve(socket);
      });
      req.on('response', (res) => {
        refusal(res).then(reject, reject);
      });
      req.on('error', (err) => reject(failure(err, signal)));
      req.end();
    });
  } catch (err) {
    throw failure(err, signal);
  } finally {
    done();
  }
}
