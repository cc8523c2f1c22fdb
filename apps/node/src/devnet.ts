import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  bundleToJson,
  DEVNET_LEASE_PARAMS,
  type LeaseParams,
  type Logger,
  type NodeRole,
  parseJson,
  stringifyJson,
} from '@xe/core-types';
import { generateKeyPair, type KeyPair } from '@xe/crypto';
import { peerIdFromPubKeyHex } from '@xe/gossip';
import { createGenesisBundle } from '@xe/ledger';
import { createVmManager, sweepDeadPools, type VmManager } from '@xe/lima-provider';
import { writeAtomic, writeSecret } from './datadir.js';
import { NodeError, NodeErrorCodes } from './errors.js';

export interface DevnetOptions {
  dir: string;
  nodes: number;
  basePort: number;
  /** Remove an existing devnet in `dir` first. */
  fresh: boolean;
  logLevel: string;
  /** The CLI entry to start nodes with (defaults to this package's compiled cli.js). */
  cliPath?: string;
  /** XUSD (µ) given to every node. */
  allocation?: bigint;
  /** Lease timing overrides (default: the devnet set of SPEC §4). */
  lease?: Partial<LeaseParams>;
  /** VM backend of the provider nodes: sandbox (default) or qemu. */
  vmBackend?: DevnetVmBackend;
  /** Roles per node instead of `devnetRoles(nodes)` (one entry per node); with 3+ timekeepers the threshold is 2. */
  roles?: NodeRole[][];
}

export type DevnetVmBackend = 'sandbox' | 'qemu';

/** The VMs of a devnet's provider nodes (to tear them down when the devnet stops). */
export function devnetVmManager(backend: DevnetVmBackend, dataDir: string): VmManager {
  return createVmManager(backend === 'qemu' ? { backend: 'qemu', dataDir } : { backend: 'sandbox', dataDir });
}

/**
 * After a devnet's provider node exited: its VMs torn down (a sandbox VM outlives its
 * provider by design) and the ready sandboxes of a provider that could not release them
 * (killed) stopped, their disks unmounted and removed.
 */
export async function removeDevnetVms(backend: DevnetVmBackend, vmDir: string): Promise<void> {
  const vms = devnetVmManager(backend, vmDir);
  for (const vm of await vms.list().catch(() => [])) await vms.teardown(vm.lease_hash).catch(() => undefined);
  if (backend === 'sandbox') await sweepDeadPools(join(vmDir, 'sandbox', '.pool')).catch(() => 0);
}

export interface DevnetNode {
  name: string;
  roles: NodeRole[];
  api: string;
  p2p: string;
  address: string;
  data_dir: string;
}

export interface DevnetInfo {
  operator_token: string;
  network_id: string;
  nodes: DevnetNode[];
}

/** Devnet proof-of-work difficulty: ~4096 tries per block. */
export const DEVNET_DIFFICULTY = 0xfff0000000000000n;
const DEFAULT_ALLOCATION = 1_000_000_000n; // 1,000 XUSD
/** A devnet's quorum (SPEC §12). */
export const DEVNET_QUORUM_PCT = 60;

/** Roles by position: a timekeeper, a provider, a consumer; more nodes add providers and timekeepers. */
export function devnetRoles(n: number): NodeRole[][] {
  const roles: NodeRole[][] = [];
  for (let i = 0; i < n; i++) {
    if (i === 0) roles.push(['timekeeper']);
    else if (i === 1) roles.push(['provider']);
    else if (i === 2) roles.push(['consumer']);
    else roles.push(i % 2 === 1 ? ['provider'] : ['timekeeper']);
  }
  return roles;
}

const defaultCli = () => fileURLToPath(new URL('./cli.js', import.meta.url));

interface Prepared {
  info: DevnetInfo;
  genesisFile: string;
  bootstrap: string;
  ports: Array<{ p2p: number; api: number }>;
  vmBackend: DevnetVmBackend;
}

/** Makes keys, the bundle and devnet.json (or reuses an existing devnet in `dir`). */
export async function prepareDevnet(opts: DevnetOptions): Promise<Prepared> {
  const dir = resolve(opts.dir);
  if (opts.fresh && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const infoFile = join(dir, 'devnet.json');
  const genesisFile = join(dir, 'genesis.json');
  const roles = opts.roles ?? devnetRoles(opts.nodes);
  if (roles.length !== opts.nodes) throw new NodeError(NodeErrorCodes.CONFIG_INVALID, `roles: ${roles.length} entries for ${opts.nodes} nodes`);
  const ports = roles.map((_, i) => ({ p2p: opts.basePort + 2 * i, api: opts.basePort + 2 * i + 1 }));
  if (existsSync(infoFile) && existsSync(genesisFile)) {
    const info = parseJson(readFileSync(infoFile, 'utf8')) as unknown as DevnetInfo;
    if (info.nodes.length !== opts.nodes) {
      throw new NodeError(NodeErrorCodes.CONFIG_INVALID, `${dir} holds a devnet of ${info.nodes.length} nodes; use --fresh or another --dir`);
    }
    const usedPorts = info.nodes.map((n) => ({ p2p: Number(/\/tcp\/(\d+)/.exec(n.p2p)?.[1]), api: Number(new URL(n.api).port) }));
    return { info, genesisFile, bootstrap: info.nodes[0]!.p2p, ports: usedPorts, vmBackend: opts.vmBackend ?? 'sandbox' };
  }
  const keys: KeyPair[] = roles.map(() => generateKeyPair());
  const timekeeperKeys = keys.filter((_, i) => roles[i]!.includes('timekeeper')).map((k) => k.pubKeyHex);
  const networkId = `devnet-${randomBytes(3).toString('hex')}`;
  const allocation = opts.allocation ?? DEFAULT_ALLOCATION;
  const bundle = await createGenesisBundle({
    networkId,
    difficulty: DEVNET_DIFFICULTY,
    timekeepers: { keys: timekeeperKeys, threshold: timekeeperKeys.length >= 3 ? 2 : 1 },
    lease: { ...DEVNET_LEASE_PARAMS, ...opts.lease },
    // every node a representative of equal weight, quorum 60 (SPEC §12): two of three confirm
    representatives: keys.map((k) => ({ address: k.address, weight: 1n })),
    quorumPct: DEVNET_QUORUM_PCT,
    treasuryKeys: { XE: generateKeyPair(), XUSD: generateKeyPair() },
    allocations: keys.map((k) => ({ address: k.address, asset: 'XUSD' as const, amount: allocation })),
  });
  writeAtomic(genesisFile, `${stringifyJson(bundleToJson(bundle), 2)}\n`);
  const nodes: DevnetNode[] = keys.map((k, i) => {
    const name = `node-${i}-${roles[i]!.join('-')}`;
    const dataDir = join(dir, name);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeSecret(join(dataDir, 'node.key'), `${Buffer.from(k.seed).toString('hex')}\n`);
    return {
      name,
      roles: roles[i]!,
      api: `http://127.0.0.1:${ports[i]!.api}`,
      p2p: `/ip4/127.0.0.1/tcp/${ports[i]!.p2p}/p2p/${peerIdFromPubKeyHex(k.pubKeyHex)}`,
      address: k.address,
      data_dir: dataDir,
    };
  });
  const info: DevnetInfo = { operator_token: randomBytes(24).toString('hex'), network_id: networkId, nodes };
  writeAtomic(infoFile, `${stringifyJson(info, 2)}\n`, 0o600);
  return { info, genesisFile, bootstrap: nodes[0]!.p2p, ports, vmBackend: opts.vmBackend ?? 'sandbox' };
}

/**
 * The nodes node `i` dials and keeps dialled: node 0 and the two started just before it.
 * Three or four nodes are fully meshed; larger devnets get a chain of triangles around node
 * 0, so a block crosses few hops and no node is the only path between two others.
 */
export function devnetBootstrapOf(i: number): number[] {
  if (i === 0) return [];
  return [...new Set([0, Math.max(0, i - 1), Math.max(0, i - 2)])];
}

/** The `xe-node start` arguments of one devnet node. */
export function devnetNodeArgs(p: Prepared, i: number, logLevel: string): string[] {
  const n = p.info.nodes[i]!;
  const args = [
    'start',
    '--name', n.name,
    '--data-dir', n.data_dir,
    '--genesis', p.genesisFile,
    '--p2p-host', '127.0.0.1',
    '--p2p-port', String(p.ports[i]!.p2p),
    '--api-bind', '127.0.0.1',
    '--api-port', String(p.ports[i]!.api),
    '--log-level', logLevel,
    '--offer-window-ms', '1000',
    '--ui',
  ];
  for (const j of devnetBootstrapOf(i)) args.push('--bootstrap', p.info.nodes[j]!.p2p);
  if (n.roles.includes('provider')) {
    args.push('--provider', '--vm-backend', p.vmBackend, '--vcpus', '4', '--memory-mb', '4096', '--disk-gb', '40');
  }
  if (n.roles.includes('timekeeper')) args.push('--timekeeper');
  return args;
}

/** How long a devnet of `n` nodes may take until every node is ready (they start together on a machine of few cores). */
export function devnetReadyTimeoutMs(n: number): number {
  return Math.max(90_000, 15_000 * n);
}

async function waitReady(url: string, deadline: number, child: ChildProcess, logFile: string): Promise<void> {
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new NodeError(NodeErrorCodes.CONFIG_INVALID, `node exited (${child.exitCode ?? child.signalCode}) before it was ready; see ${logFile}`);
    }
    try {
      const res = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {}
    if (Date.now() > deadline) throw new NodeError(NodeErrorCodes.CONFIG_INVALID, `node at ${url} not ready in time; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface RunningDevnet {
  info: DevnetInfo;
  stop(): Promise<void>;
  exited: Promise<void>;
}

/** Starts the devnet's nodes as child processes and waits until every one is ready. */
export async function startDevnet(opts: DevnetOptions, logger: Logger): Promise<RunningDevnet> {
  const prepared = await prepareDevnet(opts);
  const { info } = prepared;
  // Fails early, with the command that installs what is missing (bubblewrap and sshd, or QEMU and its guest image).
  if (info.nodes.some((n) => n.roles.includes('provider'))) devnetVmManager(prepared.vmBackend, join(opts.dir, 'vm-check'));
  const cli = opts.cliPath ?? defaultCli();
  const children: ChildProcess[] = [];
  const exits: Promise<void>[] = [];
  const stop = async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }, 15_000);
    await Promise.all(exits);
    clearTimeout(timer);
    // A sandbox VM outlives its provider by design; a devnet that stops removes them.
    for (const n of info.nodes.filter((x) => x.roles.includes('provider'))) await removeDevnetVms(prepared.vmBackend, join(n.data_dir, 'vms'));
  };
  try {
    for (let i = 0; i < info.nodes.length; i++) {
      const n = info.nodes[i]!;
      const logFile = join(n.data_dir, 'node.log');
      const out = openSync(logFile, 'a');
      const child = spawn(process.execPath, [cli, ...devnetNodeArgs(prepared, i, opts.logLevel)], {
        stdio: ['ignore', out, out],
        env: { ...process.env, XE_OPERATOR_TOKEN: info.operator_token, XE_EXIT_WITH_PARENT: String(process.pid) },
      });
      children.push(child);
      exits.push(new Promise((r) => child.once('exit', () => r())));
      logger.info('node started', { name: n.name, pid: child.pid, api: n.api, log: logFile });
    }
    const deadline = Date.now() + devnetReadyTimeoutMs(info.nodes.length);
    for (let i = 0; i < info.nodes.length; i++) {
      await waitReady(info.nodes[i]!.api, deadline, children[i]!, join(info.nodes[i]!.data_dir, 'node.log'));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { info, stop, exited: Promise.race(exits) };
}

/** The short "try this" printed when the devnet is up. */
export function tryThis(info: DevnetInfo, dir: string): string {
  const consumer = info.nodes.find((n) => n.roles.includes('consumer')) ?? info.nodes[0]!;
  const provider = info.nodes.find((n) => n.roles.includes('provider')) ?? info.nodes[0]!;
  const d = resolve(dir);
  const cli = `node ${fileURLToPath(new URL('./cli.js', import.meta.url))}`;
  const key = join(d, 'lease_key');
  return [
    `devnet ${info.network_id} is up: ${info.nodes.map((n) => `${n.name} ${n.api}`).join(', ')}`,
    `details: ${join(d, 'devnet.json')} (operator token inside)`,
    '',
    'try this:',
    `  TOKEN=$(node -p 'require("${join(d, 'devnet.json')}").operator_token')`,
    `  ACCESS=$(${cli} keys new --access --force --out ${key})     # the lease's access_pub_key`,
    `  curl -s ${consumer.api}/providers`,
    `  curl -s -X POST ${consumer.api}/lease/request -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \\`,
    `       -d '{"vcpus":1,"memory_mb":512,"disk_gb":1,"duration":120,"access_pub_key":"'$ACCESS'"}'`,
    `  curl -s ${consumer.api}/leases`,
    `  ${cli} ssh -i ${key} <lease_hash> --node ${consumer.api} -- hostname`,
    `  curl -s -X POST ${provider.api}/vms/<lease_hash>/exec -H "Authorization: Bearer $TOKEN" -d '{"command":"uname -a"}'`,
    '',
    'Ctrl-C stops every node.',
  ].join('\n');
}

