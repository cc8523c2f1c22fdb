import { type Socket, createConnection, createServer } from 'node:net';
import { XeError, ErrorCodes, abortError, throwIfAborted } from '@xe/core-types';

export const LOOPBACK = '127.0.0.1';

/** A port that was free on 127.0.0.1 a moment ago (the caller retries if it is taken meanwhile). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, LOOPBACK, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Connects to 127.0.0.1:port; rejects with the socket error (ECONNREFUSED …) or ABORTED. */
export function connectTcp(port: number, opts: { signal?: AbortSignal | undefined; timeoutMs?: number } = {}): Promise<Socket> {
  throwIfAborted(opts.signal);
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host: LOOPBACK, port });
    const timer = setTimeout(() => fail(new XeError(ErrorCodes.TIMEOUT, `connect to port ${port} timed out`)), opts.timeoutMs ?? 5000);
    const onAbort = () => fail(abortError(opts.signal));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    function cleanup(): void {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      sock.removeListener('error', fail);
    }
    function fail(err: unknown): void {
      cleanup();
      sock.destroy();
      reject(err);
    }
    sock.once('error', fail);
    sock.once('connect', () => {
      cleanup();
      resolve(sock);
    });
  });
}

/** Connects and reads the server's first line; true when it is an SSH-2.0 banner. */
export async function sshBannerReady(port: number, signal?: AbortSignal): Promise<boolean> {
  let sock: Socket;
  try {
    sock = await connectTcp(port, { signal, timeoutMs: 2000 });
  } catch (err) {
    if ((err as XeError).code === ErrorCodes.ABORTED) throw err;
    return false;
  }
  return new Promise((resolve) => {
    let buf = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 2000);
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (buf.includes('\n') || buf.length >= 8) done(buf.startsWith('SSH-2.0-'));
    });
    sock.on('error', () => done(false));
    sock.on('close', () => done(buf.startsWith('SSH-2.0-')));
  });
}

/** True when nothing accepts connections on 127.0.0.1:port. */
export async function portClosed(port: number): Promise<boolean> {
  try {
    const s = await connectTcp(port, { timeoutMs: 1000 });
    s.destroy();
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ECONNREFUSED';
  }
}
