import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { ApiApp } from '@xe/api-server';
import { type Logger, silentLogger } from '@xe/core-types';

/** Where `pnpm build` puts the console (`scripts/build-ui.mjs`): `dist/ui` of this package. */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../dist/ui/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

/** A file larger than this in the console's folder is not served (the whole console is far smaller). */
const MAX_FILE_BYTES = 2 * 1024 * 1024;

/** Only the console's own origin; no CDN, no inline script. */
const CSP = "default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export interface UiFile {
  body: Buffer;
  gzip: Buffer;
  type: string;
  etag: string;
}

/** Reads the built console once: each file of a known type, kept in memory with its gzip form. */
export function loadUi(dir: string = DEFAULT_UI_DIR): Map<string, UiFile> {
  const files = new Map<string, UiFile>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    const path = join(dir, name);
    if (type === undefined || !statSync(path).isFile() || statSync(path).size > MAX_FILE_BYTES) continue;
    const body = readFileSync(path);
    files.set(name, { body, gzip: gzipSync(body, { level: 9 }), type, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 20)}"` });
  }
  return files;
}

/**
 * Serves the web console at `/ui/` (`/ui` redirects there) from the built folder: the
 * files' content types, an ETag (304 on a match), gzip when the client takes it, and a
 * Content-Security-Policy of the node's own origin only. A name not in the folder is a 404.
 * Without a built console (no `index.html`), it logs a warning and serves nothing.
 */
export function mountUi(app: ApiApp, options: { dir?: string; logger?: Logger } = {}): boolean {
  const log = (options.logger ?? silentLogger).child('ui');
  let files: Map<string, UiFile>;
  try {
    files = loadUi(options.dir);
  } catch (err) {
    log.warn('no web console to serve (build it with pnpm build)', { dir: options.dir ?? DEFAULT_UI_DIR, err });
    return false;
  }
  if (!files.has('index.html')) {
    log.warn('no web console to serve: index.html missing', { dir: options.dir ?? DEFAULT_UI_DIR });
    return false;
  }
  app.get('/ui', (c) => {
    c.set('route', 'GET /ui');
    return c.redirect('/ui/', 301);
  });
  app.get('/ui/:file{[^/]*}', (c) => {
    c.set('route', 'GET /ui');
    const name = c.req.param('file') || 'index.html';
    const f = files.get(name);
    if (f === undefined) {
      return c.json({ error: `no file ${name.slice(0, 100)} in the web console`, code: 'ROUTE_NOT_FOUND', retryable: false }, 404);
    }
    c.header('ETag', f.etag);
    c.header('Cache-Control', 'no-cache');
    c.header('Vary', 'Accept-Encoding');
    c.header('X-Content-Type-Options', 'nosniff');
    if (f.type.startsWith('text/html')) c.header('Content-Security-Policy', CSP);
    if (c.req.header('if-none-match') === f.etag) return c.body(null, 304);
    c.header('Content-Type', f.type);
    if (/\bgzip\b/.test(c.req.header('accept-encoding') ?? '')) {
      c.header('Content-Encoding', 'gzip');
      return c.body(new Uint8Array(f.gzip), 200);
    }
    return c.body(new Uint8Array(f.body), 200);
  });
  log.info('web console at /ui/', { files: files.size });
  return true;
}
