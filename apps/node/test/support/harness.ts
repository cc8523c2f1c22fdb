import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type JsonValue, type LeaseParams, NS_PER_SEC, type NodeRole, stringifyJson, waitUntil } from '@xe/core-types';
import { type KeyPair, generateKeyPair, openSshPrivateKey } from '@xe/crypto';
import type { XeClient } from '@xe/client';
import { type DevnetVmBackend, devnetNodeArgs, prepareDevnet, removeDevnetVms } from '../../src/devnet.js';
import { checkedClient, checkedFetch } from './contract.js';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

type Prepared = Awaited<ReturnType<typeof prepareDevnet>>;

/** A devnet of real `xe-node start` child processes on 127.0.0.1 for one test file. */
/**
 * Short lease timings for e2e tests that wait out settle, cancel and force-settle windows:
 * skew 2 s, accept window 40 s (more than the 30 s a provider keeps for provisioning, SPEC
 * §10.5), settle grace 4 s, force-settle gap 5 s (> 2 × skew), minimum duration 5 s.
 */
export const SHORT_LEASE = {
  min_duration_secs: 5n,
  max_attestation_skew_ns: 2n * NS_PER_SEC,
  accept_window_ns: 40n * NS_PER_SEC,
  settle_grace_ns: 4n * NS_PER_SEC,
  force_settle_gap_ns: 5n * NS_PER_SEC,
  escrow_expiry_ns: 120n * NS_PER_SEC,
  archive_gap_ns: 60n * NS_PER_SEC,
} as const satisfies Partial<LeaseParams>;

export class TestNet {
  readonly children = new Map<number, ChildProcess>();
  private constructor(
    readonly dir: string,
    readonly prepared: Prepared,
    private readonly extra: Record<number, string[]>,
  ) {}

  static async create(
    opts: {
      nodes?: number;
      lease?: Partial<LeaseParams>;
      extraArgs?: (info: Prepared['info']) => Record<number, string[]>;
      /** VM backend of the provider nodes (default sandbox). */
      vmBackend?: DevnetVmBackend;
      /** Roles per node (default `devnetRoles`). */
      roles?: NodeRole[][];
    } = {},
  ): Promise<TestNet> {
    const dir = mkdtempSync(join(tmpdir(), 'xe-e2e-'));
    // below the kernel's ephemeral range (32768+), so no outgoing connection takes one of these ports
    const basePort = 20000 + Math.floor(Math.random() * 1000) * 10;
    const prepared = await prepareDevnet({ dir, nodes: opts.nodes ?? 3, basePort, fresh: false, logLevel: 'info', ...(opts.lease ? { lease: opts.lease } : {}), ...(opts.vmBackend ? { vmBackend: opts.vmBackend } : {}), ...(opts.roles ? { roles: opts.roles } : {}) });
    return new TestNet(dir, prepared, opts.extraArgs?.(prepared.info) ?? {});
  }

  get info() {
    return this.prepared.info;
  }

  get token(): string {
    return this.info.operator_token;
  }

  url(i: number): string {
    return this.info.nodes[i]!.api;
  }

  /** `@xe/client` for node i with the operator token; every answer is checked against the API contract. */
  client(i: number): XeClient {
    return checkedClient(this.url(i), { operatorToken: this.token });
  }

  address(i: number): string {
    return this.info.nodes[i]!.address;
  }

  /** Balances of `address` as node i sees them. */
  async balances(i: number, address: string): Promise<{ XE: bigint; XUSD: bigint }> {
    return (await this.client(i).getBalance(address)).balances;
  }

  /** A fresh lease access key, written as an OpenSSH private key file in the net's dir. */
  accessKey(name = 'lease_key'): { key: KeyPair; file: string } {
    const key = generateKeyPair();
    const file = join(this.dir, name);
    writeFileSync(file, openSshPrivateKey(key, 'test'), { mode: 0o600 });
    return { key, file };
  }

  /** Waits until the consumer node (2) sees the provider's advert and both hold XUSD. */
  async waitMarket(consumer = 2, provider = 1): Promise<void> {
    await waitUntil(async () => (await this.client(consumer).listProviders()).length >= 1, { timeoutMs: 30_000, what: 'the provider advert' });
    // Both funds received and confirmed, as the consumer's node and the provider's node see
    // them: a provider drops a request whose consumer it does not see funded (marketplace
    // admission), and a consumer spends confirmed funds only.
    const funded = async (viewer: number, i: number) => (await this.client(viewer).getBalance(this.address(i))).spendable.XUSD > 0n;
    await waitUntil(async () => (await funded(consumer, consumer)) && (await funded(consumer, provider)) && (await funded(provider, consumer)), {
      timeoutMs: 30_000,
      what: 'funds received and confirmed on the consumer and provider nodes',
    });
  }

  log(i: number): string {
    return readFileSync(join(this.info.nodes[i]!.data_dir, 'node.log'), 'utf8');
  }

  /** Starts node i (again) and waits until its /ready says ready. */
  async start(i: number, opts: { waitReady?: boolean } = {}): Promise<ChildProcess> {
    const n = this.info.nodes[i]!;
    const out = openSync(join(n.data_dir, 'node.log'), 'a');
    const child = spawn(process.execPath, [CLI, ...devnetNodeArgs(this.prepared, i, 'debug'), ...(this.extra[i] ?? [])], {
      stdio: ['ignore', out, out],
      env: { ...process.env, XE_OPERATOR_TOKEN: this.token, XE_EXIT_WITH_PARENT: String(process.pid) },
    });
    this.children.set(i, child);
    if (opts.waitReady !== false) await this.waitReady(i, child);
    return child;
  }

  async startAll(): Promise<void> {
    for (let i = 0; i < this.info.nodes.length; i++) await this.start(i, { waitReady: false });
    for (let i = 0; i < this.info.nodes.length; i++) await this.waitReady(i, this.children.get(i)!);
  }

  async waitReady(i: number, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
    await waitUntil(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`node ${i} exited early:\n${this.log(i).slice(-3000)}`);
        const res = await fetch(`${this.url(i)}/ready`).catch(() => undefined);
        return res?.ok === true;
      },
      { timeoutMs, what: `node ${i} ready`, intervalMs: 200, stopOn: (err) => err instanceof Error && err.message.includes('exited early') },
    );
  }

  /** Kills node i with a signal and waits for the process to exit. */
  async kill(i: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const c = this.children.get(i);
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    await exited;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.children.keys()].map((i) => this.kill(i, 'SIGTERM')));
    for (const n of this.info.nodes.filter((x) => x.roles.includes('provider'))) await removeDevnetVms(this.prepared.vmBackend, join(n.data_dir, 'vms'));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs the CLI; resolves with exit code and output. */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

export async function requestLease(net: TestNet, i: number, body: Record<string, unknown>): Promise<{ status: number; body: Record<string, JsonValue> }> {
  const res = await checkedFetch(`${net.url(i)}/lease/request`, {
    method: 'POST',
    headers: { authorization: `Bearer ${net.token}`, 'content-type': 'application/json' },
    body: stringifyJson(body),
  });
  const { parseJson } = await import('@xe/core-types');
  return { status: res.status, body: parseJson(await res.text()) as Record<string, JsonValue> };
}

/** True when no process mentions `needle` in its command line. */
export function noProcessMentions(needle: string): boolean {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(needle)) return false;
    } catch {}
  }
  return true;
}

/** True when `pid` is a live process (a zombie, already dead but not yet reaped, is not). */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
