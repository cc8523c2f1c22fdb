import type { Stream } from '@libp2p/interface';
import {
  type AdmitResult,
  type Block,
  type Certificate,
  type CertificateAdmitResult,
  type Confirmation,
  isHash,
  type JsonValue,
  type Logger,
  parseBlockSealed,
  parseCertificate,
  stringifyJson,
} from '@xe/core-types';
import { GossipError, GossipErrorCodes } from './errors.js';
import { encodeJsonFrame, encodeTextFrame, FRAME_HEADER_BYTES, StreamReader, writeBytes } from './frames.js';
import type { Counters } from './metrics.js';
import {
  accountsToConfirm,
  ConfirmationIntakeState,
  type ConfirmationIntake,
  confirmedHeightOf,
  MAX_PAGE_CONFIRMATIONS,
  sendConfirmationPages,
} from './sync-confirmations.js';

/** One account chain as a node holds it: its head block and its height (first block = 1). */
export interface Frontier {
  account: string;
  frontier: string;
  height: number;
  /** height of the newest confirmed block (SPEC §12); absent: 0 */
  confirmed?: number;
}

/**
 * A block as the source holds it: the UTF-8 bytes of its JSON (as `stringifyJson` prints
 * it), which go into the page as they are — a ledger that stores blocks as JSON serves
 * them without building, printing or encoding each again — with what paging needs: its
 * timestamp (pages go oldest first across chains) and the certificate it names (a lease's
 * or lease_accept's `certificate_hash`, sent ahead of it).
 */
export interface SyncBlock {
  json: Uint8Array;
  timestamp: bigint;
  certificateHash?: string;
}

/** What sync reads from the local ledger. */
export interface SyncSource {
  frontiers(): Promise<Frontier[]>;
  /** Blocks of `account` at heights `height+1 … height+limit`, in chain order, with their JSON. */
  blocksAfter(account: string, height: number, limit: number): Promise<SyncBlock[]>;
  certificate(hash: string): Promise<Certificate | undefined>;
  /** The confirmation of the account's newest confirmed block (SPEC §12); without it, pages carry none. */
  confirmation?(account: string): Promise<Confirmation | undefined>;
}

/** Where sync hands what it receives (the ledger's admission), answered with core-types' admission results. */
export interface SyncSink {
  ingestBlock(block: Block, origin: 'sync'): Promise<AdmitResult>;
  ingestCertificate(cert: Certificate): Promise<CertificateAdmitResult>;
  /** Verifies and applies a confirmation (the ledger checks it against the bundle's weights). */
  ingestConfirmation?(confirmation: Confirmation): Promise<ConfirmationIntake>;
}

export interface SyncLimits {
  /** Blocks per page at most (default 512); a page of more than twice this is refused. */
  maxPageBlocks: number;
  /**
   * Blocks per page this node sends (default 256, at most `maxPageBlocks`). Every block of a
   * page lives from its arrival until its admission, two pages at a time: at 512 those pages
   * were most of what V8's young generation had to copy and promote on each scavenge.
   */
  pageBlocks: number;
  /** Approximate bytes of JSON per page (default 1 MiB). */
  maxPageBytes: number;
  /** Frontier entries per request frame (default 4096). */
  frontiersPerFrame: number;
  /** Frontier entries per session the responder reads (default 250,000); it keeps only those of chains it has. */
  maxFrontiers: number;
  /** Blocks held for retry at most (default 10,000). */
  maxPending: number;
  /** A whole session, either side, ends after this (default 120 s). */
  sessionTimeoutMs: number;
  /** A session in which no frame moved for this long ends (default 10 s). */
  idleTimeoutMs: number;
  /** Sessions we serve at once (default 4); when full, one idle for `evictIdleMs` makes room. */
  maxInbound: number;
  /** An inbound session idle this long is evicted when a new one needs its slot (default 2 s). */
  evictIdleMs: number;
  /** Outbound sessions run at once, each with a different peer (default 3). */
  maxOutbound: number;
}

export const DEFAULT_SYNC_LIMITS: SyncLimits = {
  maxPageBlocks: 512,
  pageBlocks: 256,
  maxPageBytes: 1 << 20,
  frontiersPerFrame: 4096,
  maxFrontiers: 250_000,
  maxPending: 10_000,
  sessionTimeoutMs: 120_000,
  idleTimeoutMs: 10_000,
  maxInbound: 4,
  evictIdleMs: 2_000,
  maxOutbound: 3,
};

/** Largest frame either side accepts: a full page plus one block's slack. */
export function syncMaxFrameBytes(limits: SyncLimits): number {
  return limits.maxPageBytes + 256 * 1024;
}

export interface SyncSummary {
  peer: string;
  pages: number;
  /** Blocks received in pages. */
  received: number;
  accepted: number;
  duplicate: number;
  /** Rejected for good (after retries). */
  rejected: number;
  /** Accepted on a retry pass. */
  retried: number;
  certificates: number;
  /** Confirmations verified and applied (SPEC §12). */
  confirmations: number;
  durationMs: number;
}

interface Ctx {
  log: Logger;
  counters: Counters;
  limits: SyncLimits;
  signal?: AbortSignal;
  /** Called whenever a frame was read or written (the session's idle clock). */
  onProgress?: () => void;
}

function protocolError(message: string): GossipError {
  return new GossipError(GossipErrorCodes.PROTOCOL_ERROR, message);
}

function asObject(v: JsonValue | null, what: string): { [k: string]: JsonValue } {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw protocolError(`${what}: expected an object`);
  return v;
}

// ---------------------------------------------------------------- responder

/** A small binary min-heap of chain cursors ordered by their next block's timestamp. */
class CursorHeap {
  private readonly items: Cursor[] = [];
  get size(): number {
    return this.items.length;
  }
  private less(a: Cursor, b: Cursor): boolean {
    const ta = a.buf[a.idx]!.timestamp;
    const tb = b.buf[b.idx]!.timestamp;
    return ta < tb || (ta === tb && a.account < b.account);
  }
  push(c: Cursor): void {
    const h = this.items;
    h.push(c);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): Cursor | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

interface Cursor {
  account: string;
  /** Height of the last block fetched. */
  height: number;
  end: number;
  buf: SyncBlock[];
  idx: number;
  /** blocks the next read asks for: FIRST_READ_BLOCKS, then growing to the session's lookahead */
  want: number;
}

/**
 * Each chain's first read is this small, so the first page goes out after reading less
 * than a page of blocks, not every chain's lookahead: every chain is read once before the
 * first block is sent (blocks go oldest first across chains), and a cold peer took 65–80 ms
 * for 16 first reads of 32 blocks (300 ms for reads of 256) while the requester waited.
 * Each later read is four times the last, up to the lookahead, made while the requester
 * admits what was sent.
 */
const FIRST_READ_BLOCKS = 8;
/** Blocks offered to the sink per progress mark (a mark reads the clock). */
const PROGRESS_EVERY = 32;

const utf8 = new TextEncoder();
const PAGE_OPEN = utf8.encode('{"type":"page","certificates":[');
const PAGE_MID = utf8.encode('],"blocks":[');
const PAGE_CLOSE = utf8.encode(']}');
const COMMA = 0x2c;

/**
 * One page frame, `{"type":"page","certificates":[…],"blocks":[…]}` framed, assembled from
 * the parts' bytes in one buffer (no page-sized string, no second copy).
 */
function pageFrame(certs: readonly Uint8Array[], blocks: readonly Uint8Array[]): Uint8Array {
  const listBytes = (parts: readonly Uint8Array[]) => parts.reduce((n, p) => n + p.length, 0) + Math.max(0, parts.length - 1);
  const size = PAGE_OPEN.length + listBytes(certs) + PAGE_MID.length + listBytes(blocks) + PAGE_CLOSE.length;
  const out = new Uint8Array(FRAME_HEADER_BYTES + size);
  new DataView(out.buffer).setUint32(0, size);
  let o = FRAME_HEADER_BYTES;
  const put = (part: Uint8Array) => {
    out.set(part, o);
    o += part.length;
  };
  const putList = (parts: readonly Uint8Array[]) => {
    for (let i = 0; i < parts.length; i++) {
      if (i > 0) out[o++] = COMMA;
      put(parts[i]!);
    }
  };
  put(PAGE_OPEN);
  putList(certs);
  put(PAGE_MID);
  putList(blocks);
  put(PAGE_CLOSE);
  return out;
}

/**
 * Serves one `/xe/sync/1.0.0` session: reads the requester's frontiers, then streams
 * the blocks it lacks in pages, oldest timestamp first across chains, each page
 * preceded by the certificates its blocks name (once per session).
 */
export async function serveSync(stream: Stream, source: SyncSource, ctx: Ctx): Promise<number> {
  const { limits, signal } = ctx;
  const reader = new StreamReader(stream);
  const maxFrame = syncMaxFrameBytes(limits);
  // Only their heights of chains we hold are kept: what we hold bounds the memory, not what they send.
  const mine = await source.frontiers();
  const ours = new Set(mine.map((f) => f.account));
  const theirs = new Map<string, number>();
  const theirsConfirmed = new Map<string, number>();
  let entries = 0;
  for (;;) {
    const frame = asObject(await reader.readJson(maxFrame, signal), 'sync request');
    ctx.onProgress?.();
    if (frame.type !== 'frontiers' || !Array.isArray(frame.frontiers)) throw protocolError('sync request: expected frontiers');
    if (frame.frontiers.length > limits.frontiersPerFrame) throw protocolError('sync request: too many frontiers in a frame');
    for (const e of frame.frontiers) {
      const o = asObject(e, 'frontier');
      const h = o.height;
      if (!isHash(o.account) || typeof h !== 'bigint' || h < 0n || h > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw protocolError('sync request: malformed frontier');
      }
      if (ours.has(o.account)) {
        theirs.set(o.account, Number(h));
        theirsConfirmed.set(o.account, confirmedHeightOf(o));
      }
    }
    entries += frame.frontiers.length;
    if (entries > limits.maxFrontiers) throw protocolError('sync request: too many frontiers');
    if (frame.done === true) break;
  }

  const lagging = mine.filter((f) => f.height > (theirs.get(f.account) ?? 0));
  const lookahead = Math.max(8, Math.min(256, Math.floor(65_536 / Math.max(1, lagging.length))));
  const heap = new CursorHeap();
  const refill = async (c: Cursor): Promise<boolean> => {
    const want = Math.min(c.want, c.end - c.height);
    if (want <= 0) return false;
    const blocks = await source.blocksAfter(c.account, c.height, want);
    if (blocks.length === 0) return false;
    c.buf = blocks;
    c.idx = 0;
    c.height += blocks.length;
    c.want = Math.min(lookahead, c.want * 4);
    return true;
  };
  for (const f of lagging) {
    const c: Cursor = { account: f.account, height: theirs.get(f.account) ?? 0, end: f.height, buf: [], idx: 0, want: Math.min(lookahead, FIRST_READ_BLOCKS) };
    if (await refill(c)) heap.push(c);
  }

  const pageBlocks = Math.max(1, Math.min(limits.pageBlocks, limits.maxPageBlocks));
  const flushBeforeRead = Math.max(1, pageBlocks >> 2);
  const sentCerts = new Set<string>();
  let certs: Uint8Array[] = [];
  let blocks: Uint8Array[] = [];
  let bytes = 0;
  let total = 0;
  const flush = async () => {
    if (blocks.length === 0 && certs.length === 0) return;
    const frame = pageFrame(certs, blocks);
    certs = [];
    blocks = [];
    bytes = 0;
    await writeBytes(stream, frame, signal);
    ctx.onProgress?.();
  };

  while (heap.size > 0) {
    if (signal?.aborted) throw new GossipError(GossipErrorCodes.ABORTED, 'sync aborted');
    const c = heap.pop()!;
    const { json, certificateHash: ch } = c.buf[c.idx++]!;
    // a read from the source comes next: send the page first if it is a quarter full, so
    // the requester admits it while we read (chains run dry together, and reading them all
    // before the first flush kept the requester idle)
    if (c.idx >= c.buf.length && c.height < c.end && blocks.length >= flushBeforeRead) await flush();
    if (c.idx < c.buf.length || (await refill(c))) heap.push(c);
    let certJson: Uint8Array | undefined;
    if (ch !== undefined && !sentCerts.has(ch)) {
      sentCerts.add(ch);
      const cert = await source.certificate(ch);
      if (cert) certJson = utf8.encode(stringifyJson(cert));
    }
    const add = json.length + (certJson?.length ?? 0) + 2;
    if (blocks.length > 0 && (blocks.length >= pageBlocks || bytes + add > limits.maxPageBytes)) await flush();
    if (certJson !== undefined) certs.push(certJson);
    blocks.push(json);
    bytes += add;
    total++;
  }
  await flush();
  if (source.confirmation !== undefined) {
    const confirmationOf = source.confirmation.bind(source);
    const write = async (text: string) => {
      await writeBytes(stream, encodeTextFrame(text), signal);
      ctx.onProgress?.();
    };
    await sendConfirmationPages(accountsToConfirm(mine, theirsConfirmed), confirmationOf, limits.maxPageBytes, write, signal);
  }
  await writeBytes(stream, encodeJsonFrame({ type: 'end', blocks: total }), signal);
  ctx.counters.inc('xe_sync_served_blocks_total', {}, total);
  return total;
}

// ---------------------------------------------------------------- requester

interface Pending<T> {
  item: T;
  code: string;
}

/**
 * Runs one sync session as the requester: sends our frontiers, ingests each page
 * (certificates first, then blocks in order), then retries what the sink called
 * retryable until a pass makes no progress.
 */
export async function requestSync(
  stream: Stream,
  peer: string,
  source: Pick<SyncSource, 'frontiers'>,
  sink: SyncSink,
  ctx: Ctx,
): Promise<SyncSummary> {
  const started = performance.now();
  const { limits, signal, counters } = ctx;
  const summary: SyncSummary = {
    peer,
    pages: 0,
    received: 0,
    accepted: 0,
    duplicate: 0,
    rejected: 0,
    retried: 0,
    certificates: 0,
    confirmations: 0,
    durationMs: 0,
  };
  const confirmations = new ConfirmationIntakeState(sink.ingestConfirmation?.bind(sink), limits.maxPending, (code) =>
    counters.inc('xe_sync_rejected_total', { code }),
  );
  const frontiers = await source.frontiers();
  for (let i = 0; i === 0 || i < frontiers.length; i += limits.frontiersPerFrame) {
    const chunk = frontiers.slice(i, i + limits.frontiersPerFrame);
    const done = i + limits.frontiersPerFrame >= frontiers.length;
    await writeBytes(stream, encodeJsonFrame({ type: 'frontiers', frontiers: chunk, done }), signal);
    ctx.onProgress?.();
  }

  const reader = new StreamReader(stream, 2 * syncMaxFrameBytes(limits));
  const maxFrame = syncMaxFrameBytes(limits);
  const pendingBlocks: Pending<Block>[] = [];
  const pendingCerts: Pending<Certificate>[] = [];

  const ingestCert = async (cert: Certificate): Promise<CertificateAdmitResult> => {
    try {
      return await sink.ingestCertificate(cert);
    } catch (err) {
      ctx.log.warn('certificate ingest failed', { err });
      return { status: 'rejected', retryable: false, code: 'INGEST_ERROR', message: (err as Error).message };
    }
  };
  // progress is marked once per PROGRESS_EVERY blocks offered: a page's blocks are offered
  // at once, right after the frame read that marked it; the retry passes offer them one by one
  let offered = 0;
  const ingestBlock = async (block: Block): Promise<AdmitResult> => {
    if (++offered % PROGRESS_EVERY === 0) ctx.onProgress?.();
    try {
      return await sink.ingestBlock(block, 'sync');
    } catch (err) {
      ctx.log.warn('block ingest failed', { err });
      return { status: 'rejected', retryable: false, code: 'INGEST_ERROR', message: (err as Error).message };
    }
  };
  const count = (o: AdmitResult) => {
    if (o.status === 'rejected') {
      summary.rejected++;
      counters.inc('xe_sync_rejected_total', { code: o.code });
    } else if (o.status === 'accepted') summary.accepted++;
    else summary.duplicate++;
  };

  // Pages overlap by one: page N+1 is read and offered while page N is admitted (a sink
  // that admits in call order checks N+1's blocks on other threads meanwhile), and its
  // outcomes are taken after N's. At most two pages are in flight.
  const settle = async (page: Block[], offered: Promise<AdmitResult[]>, confs: JsonValue | undefined) => {
    const outcomes = await offered;
    for (const [i, block] of page.entries()) {
      summary.received++;
      const o = outcomes[i]!;
      if (o.status === 'rejected' && o.retryable) {
        if (pendingBlocks.length < limits.maxPending) pendingBlocks.push({ item: block, code: o.code });
        else {
          summary.rejected++;
          counters.inc('xe_sync_dropped_total', { reason: 'pending_full' });
        }
      } else count(o);
    }
    await confirmations.page(confs, MAX_PAGE_CONFIRMATIONS);
  };
  let inFlight: Promise<void> = Promise.resolve();
  // a page that failed to settle (kept here, not left as an unhandled rejection while the next page is read)
  let failed: { err: unknown } | undefined;
  let ended = false;
  try {
    for (;;) {
      const frame = asObject(await reader.readJson(maxFrame, signal), 'sync response');
      ctx.onProgress?.();
      if (frame.type === 'end') {
        ended = true;
        break;
      }
      if (frame.type !== 'page' || !Array.isArray(frame.blocks) || !Array.isArray(frame.certificates)) {
        throw protocolError('sync response: expected a page');
      }
      if (frame.blocks.length > limits.maxPageBlocks * 2 || frame.certificates.length > limits.maxPageBlocks * 2) {
        throw protocolError('sync response: page too long');
      }
      summary.pages++;
      for (const raw of frame.certificates) {
        let cert: Certificate;
        try {
          cert = parseCertificate(raw);
        } catch {
          counters.inc('xe_sync_dropped_total', { reason: 'invalid_certificate' });
          continue;
        }
        summary.certificates++;
        const o = await ingestCert(cert);
        if (o.status === 'rejected' && o.retryable) pendingCerts.push({ item: cert, code: o.code });
      }
      const page: Block[] = [];
      for (const raw of frame.blocks) {
        try {
          page.push(parseBlockSealed(raw));
        } catch {
          counters.inc('xe_sync_dropped_total', { reason: 'invalid_block' });
        }
      }
      // A page's blocks are offered together, in page order, behind the previous page's: a
      // sink that admits in call order (the node's ledger) checks them on other threads and
      // writes them in groups while earlier ones are admitted.
      const offered = Promise.all(page.map((block) => ingestBlock(block)));
      const previous = inFlight;
      // the settle step keeps the page's confirmations, not the frame: the frame's parsed
      // JSON (every block as read) would otherwise live until the page settles
      const confirmationsOfPage = frame.confirmations;
      inFlight = previous
        .then(() => settle(page, offered, confirmationsOfPage))
        .catch((err: unknown) => {
          failed ??= { err };
        });
      await previous;
      if (failed !== undefined) throw failed.err;
    }
  } finally {
    // the pages offered are settled before the session ends (or fails)
    await inFlight;
  }
  if (failed !== undefined) throw failed.err;
  if (!ended) throw protocolError('sync response: no end frame');

  // Retry passes: what waited on a dependency, after the rest.
  let certs = pendingCerts;
  let blocks = pendingBlocks;
  while (certs.length + blocks.length > 0) {
    let progress = false;
    const nextCerts: Pending<Certificate>[] = [];
    for (const p of certs) {
      const o = await ingestCert(p.item);
      if (o.status !== 'rejected') progress = true;
      else if (o.retryable) nextCerts.push({ item: p.item, code: o.code });
    }
    const nextBlocks: Pending<Block>[] = [];
    for (const p of blocks) {
      const o = await ingestBlock(p.item);
      if (o.status === 'rejected' && o.retryable) {
        nextBlocks.push({ item: p.item, code: o.code });
        continue;
      }
        if (o.status !== 'rejected') {
          progress = true;
          summary.retried++;
        }
        count(o);
    }
    certs = nextCerts;
    blocks = nextBlocks;
    if (!progress) break;
  }
  for (const p of blocks) count({ status: 'rejected', code: p.code, message: 'dependency never arrived', retryable: true });
  await confirmations.retry();
  summary.confirmations = confirmations.confirmed;
  summary.durationMs = performance.now() - started;
  counters.inc('xe_sync_sessions_total', { role: 'requester' });
  counters.inc('xe_sync_received_blocks_total', {}, summary.received);
  return summary;
}
