// What the node benchmarks share: a devnet of real node processes on 127.0.0.1, an HTTP
// client, the nodes' event streams, their log lines and a few statistics.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseJson, stringifyJson } from '@xe/core-types';
import { createVmManager } from '@xe/lima-provider';
import { devnetNodeArgs, prepareDevnet } from '../dist/index.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

export const print = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
export const note = (msg) => process.stderr.write(`bench: ${msg}\n`);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const round = (x) => Math.round(x * 10) / 10;

export function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const median = (xs) => percentile([...xs].sort((a, b) => a - b), 50);

export async function until(check, what, timeoutMs = 60_000, everyMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      if (err.fatal) throw err;
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await sleep(everyMs);
  }
}

/** A small HTTP client: JSON with exact integers, the operator token when asked. */
export class ApiClient {
  constructor(base, token) {
    this.base = base;
    this.token = token;
  }
  async call(method, path, body, opts = {}) {
    const headers = { 'content-type': 'application/json' };
    if (opts.auth) headers.authorization = `Bearer ${this.token}`;
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: stringifyJson(body) }),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    });
    const text = await res.text();
    const value = text === '' ? null : parseJson(text);
    if (!res.ok) {
      const err = new Error(`${method} ${path}: ${res.status} ${value?.code ?? ''} ${value?.error ?? text}`);
      err.status = res.status;
      err.body = value;
      throw err;
    }
    return value;
  }
}

/** The nodes' log level (XE_BENCH_LOG_LEVEL, default info: the phases are read from info lines). */
const LOG_LEVEL = process.env.XE_BENCH_LOG_LEVEL ?? 'info';

/** A devnet (`prepareDevnet`) whose nodes run as child processes of the bench. */
export class Devnet {
  children = [];

  static async create(nodes, basePort) {
    const net = new Devnet();
    net.dir = mkdtempSync(join(tmpdir(), 'xe-bench-'));
    net.prepared = await prepareDevnet({ dir: net.dir, nodes, basePort, fresh: false, logLevel: LOG_LEVEL });
    return net;
  }

  get info() {
    return this.prepared.info;
  }

  url(i) {
    return this.info.nodes[i].api;
  }

  client(i) {
    return new ApiClient(this.url(i), this.info.operator_token);
  }

  logFile(i) {
    return join(this.info.nodes[i].data_dir, 'node.log');
  }

  /** Indexes of the nodes with `role`. */
  withRole(role) {
    return this.info.nodes.flatMap((n, i) => (n.roles.includes(role) ? [i] : []));
  }

  async start() {
    for (let i = 0; i < this.info.nodes.length; i++) {
      const out = openSync(this.logFile(i), 'a');
      const child = spawn(process.execPath, [CLI, ...devnetNodeArgs(this.prepared, i, LOG_LEVEL)], {
        stdio: ['ignore', out, out],
        env: { ...process.env, XE_OPERATOR_TOKEN: this.info.operator_token, XE_EXIT_WITH_PARENT: String(process.pid) },
      });
      child.exited = new Promise((r) => child.once('exit', r));
      this.children.push(child);
    }
    for (let i = 0; i < this.children.length; i++) {
      const child = this.children[i];
      await until(
        async () => {
          if (child.exitCode !== null || child.signalCode !== null) {
            throw Object.assign(new Error(`node ${i} exited early:\n${readFileSync(this.logFile(i), 'utf8').slice(-2000)}`), { fatal: true });
          }
          const res = await fetch(`${this.url(i)}/ready`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
          return res?.ok === true;
        },
        `node ${i} ready`,
        120_000,
      );
    }
  }

  /** Resident set size of each node process (MB), from /proc. */
  rssMb() {
    return this.children.map((c) => {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${c.pid}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : Number.NaN;
    });
  }

  /** SIGTERM every node, SIGKILL after 15 s; then tear down sandbox VMs left behind. */
  async stop() {
    const live = this.children.filter((c) => c.exitCode === null && c.signalCode === null);
    for (const c of live) c.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }, 15_000);
    await Promise.all(this.children.map((c) => c.exited));
    clearTimeout(timer);
    for (const n of this.info.nodes.filter((x) => x.roles.includes('provider'))) {
      const vms = createVmManager({ backend: 'sandbox', dataDir: join(n.data_dir, 'vms') });
      for (const vm of await vms.list().catch(() => [])) await vms.teardown(vm.lease_hash).catch(() => undefined);
    }
    if (process.env.XE_BENCH_KEEP === '1') note(`devnet kept in ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The JSON log lines of a node with message `msg` (a node logs one JSON object a line). */
export function logLines(file, msg) {
  const out = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.includes(`"msg":"${msg}"`)) continue;
    try {
      out.push(JSON.parse(line));
    } catch {}
  }
  return out;
}

/**
 * The phases of one accepted lease request (ms), from the consumer node's "lease request
 * answered" line, the provider node's "lease accepted" line and the bench's own clock
 * (`sample.startMs`, `sample.endMs`: unix ms around the HTTP call). The nodes run on this
 * host's clock; log times have millisecond resolution.
 */
export function leasePhases(sample, consumer, provider) {
  const cEnd = Date.parse(consumer.t);
  const cStart = cEnd - consumer.ms;
  const cSeen = cEnd - consumer.accept_confirm_ms;
  const cCommitted = cSeen - consumer.accept_seen_ms;
  const pEnd = Date.parse(provider.t);
  const pStart = pEnd - provider.ms;
  return {
    http_in_ms: cStart - sample.startMs,
    offers_ms: consumer.offers_ms,
    lease_block_ms: consumer.lease_block_ms,
    lease_to_provider_ms: pStart - cCommitted,
    provider_checks_ms: provider.checks_ms,
    lease_confirm_ms: provider.confirm_ms,
    provision_ms: provider.provision_ms,
    attest_ms: provider.attest_ms,
    accept_block_ms: provider.commit_ms,
    accept_to_consumer_ms: cSeen - pEnd,
    accept_confirm_ms: consumer.accept_confirm_ms,
    http_out_ms: sample.endMs - cEnd,
  };
}

export const PHASES_MEASURED = [
  'http_in: POST /lease/request received → offer round started (bench clock → consumer log)',
  'offers: request signed and gossiped → offers in (window end, or the last expected provider answered and its offer checked)',
  'lease_block: offer chosen → lease block built, PoW solved, committed on the consumer node',
  'lease_to_provider: lease committed (consumer) → the provider starts on it (gossip, admission)',
  'provider_checks: certificate, capacity and stake checked, capacity reserved',
  'lease_confirm: provider waits for the lease block to be confirmed (SPEC §12)',
  'provision: sandbox VM provisioned',
  'attest: timekeeper attestations gathered',
  'accept_block: lease_accept built, PoW solved, committed on the provider node',
  'accept_to_consumer: accept committed (provider) → the consumer node holds it',
  'accept_confirm: consumer waits for the accept to be confirmed',
  'http_out: consumer answered → the bench has the 200',
].join('; ');

/** Per phase the median over `rows` (each a `leasePhases` result), with the median total and what the phases leave out. */
export function phaseMedians(rows, totals) {
  const out = {};
  for (const k of Object.keys(rows[0] ?? {})) out[k] = round(median(rows.map((r) => r[k])));
  const sum = Object.values(out).reduce((a, b) => a + b, 0);
  return { ...out, sum_of_medians_ms: round(sum), total_ms_p50: round(median(totals)) };
}

/** Each accepted sample's phases, when both log lines are found; `providerLogs` are the files of every provider node. */
export function samplePhases(samples, consumerLog, providerLogs) {
  const answered = new Map(logLines(consumerLog, 'lease request answered').map((l) => [l.lease, l]));
  const accepted = new Map();
  for (const f of providerLogs) for (const l of logLines(f, 'lease accepted')) accepted.set(l.lease, l);
  const rows = [];
  for (const s of samples) {
    const c = answered.get(s.hash);
    const p = accepted.get(s.hash);
    if (c && p) rows.push(leasePhases(s, c, p));
  }
  return rows;
}

/**
 * A node's `GET /events` stream, parsed as it arrives: `on(name, fn)` is called with the
 * event's data and the arrival time (performance.now()).
 */
export class EventStream {
  handlers = new Map();
  abort = new AbortController();

  constructor(url) {
    this.url = url;
  }

  on(name, fn) {
    this.handlers.set(name, fn);
  }

  async open() {
    const res = await fetch(`${this.url}/events`, { signal: this.abort.signal, headers: { accept: 'text/event-stream' } });
    if (!res.ok) throw new Error(`GET /events: ${res.status}`);
    this.done = this.read(res.body.getReader()).catch(() => undefined);
  }

  async read(reader) {
    const decoder = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const at = performance.now();
      buf += decoder.decode(value, { stream: true });
      let end = buf.indexOf('\n\n');
      while (end >= 0) {
        const frame = buf.slice(0, end);
        buf = buf.slice(end + 2);
        end = buf.indexOf('\n\n');
        let name;
        let data;
        for (const line of frame.split('\n')) {
          if (line.startsWith('event: ')) name = line.slice(7);
          else if (line.startsWith('data: ')) data = line.slice(6);
        }
        const fn = name && this.handlers.get(name);
        if (fn && data) fn(JSON.parse(data), at);
      }
    }
  }

  close() {
    this.abort.abort();
  }
}

/** One POST /lease/request: its outcome, its duration (ms) and unix ms before and after (for `leasePhases`). */
export async function requestLease(client, lease, accessPubKey) {
  const startMs = Date.now();
  const t0 = performance.now();
  try {
    const r = await client.call('POST', '/lease/request', { ...lease, access_pub_key: accessPubKey }, { auth: true, timeoutMs: 300_000 });
    return { ok: true, ms: performance.now() - t0, hash: String(r.lease_hash), done: performance.now(), startMs, endMs: Date.now() };
  } catch (err) {
    return { ok: false, ms: performance.now() - t0, error: err.message, done: performance.now(), startMs, endMs: Date.now() };
  }
}
