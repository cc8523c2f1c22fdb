import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Logger, silentLogger } from '@xe/core-types';
import { isProcessAlive, processStartTime } from '../proc.js';
import { makeHostKey } from '../ssh-keygen.js';
import type { SandboxDeps } from './deps.js';
import { ext4Template, mountDisk, unmountDisk } from './disk.js';
import { boundRoot, layoutRoot, POOLED_HOSTNAME, removeSandboxDir, rootHostKey, type SandboxHandle, sandboxesBinding, startSandbox, stopSandbox } from './sandbox.js';

/** Most ready disks a pool keeps per disk size. */
export const POOL_SIZE_MAX = 8;
/** How long after a provision the pool starts making its replacement (see DiskPool.want). */
export const REFILL_DELAY_MS = 300;
/** Most disk sizes a pool keeps ready disks for (the sizes most recently leased). */
export const POOL_DISK_SIZES_MAX = 2;

/**
 * A ready disk: a fresh copy of the size's ext4 template, loop-mounted at `<dir>/root`, laid
 * out, with its own host key, and a sealed sandbox already running on it (no cgroups yet,
 * host name POOLED_HOSTNAME, its sshd -i answered), which the lease that takes it adopts.
 */
export interface PooledDisk {
  dir: string;
  diskGb: number;
  /** The root's host key, `ssh-ed25519 <base64>`, and its fingerprint. */
  hostPublicKey: string;
  hostKeyFingerprint: string;
  /** The sandbox started on the disk (also in `<dir>/sandbox.json`, for a sweep after a crash). */
  sandbox: SandboxHandle;
}

/** A promise with its resolve function. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** The file in a pool entry naming its running sandbox. */
const SANDBOX_FILE = 'sandbox.json';

/** The sandbox a pool entry names, if its file is there and well formed. */
async function entrySandbox(dir: string): Promise<SandboxHandle | undefined> {
  try {
    const h = JSON.parse(await readFile(join(dir, SANDBOX_FILE), 'utf8')) as Partial<SandboxHandle>;
    if (!Number.isSafeInteger(h.pid) || !Number.isSafeInteger(h.initPid) || typeof h.pidStartTime !== 'string') return undefined;
    return { pid: h.pid!, pidStartTime: h.pidStartTime, initPid: h.initPid!, dir, ...(typeof h.root === 'string' ? { root: h.root } : {}) };
  } catch {
    return undefined;
  }
}

export interface DiskPoolOptions {
  /** `<dataDir>/sandbox/.pool`: one directory per pool (per manager), named after its owner process. */
  poolRoot: string;
  templateDir: string;
  /** Ready disks per disk size (0..POOL_SIZE_MAX). */
  size: number;
  deps: SandboxDeps;
  logger?: Logger;
}

/** `<pid>-<start time>-<random>`: the owner process of a pool directory, and which of its pools. */
function ownerTag(): string {
  return `${process.pid}-${processStartTime(process.pid) ?? '0'}-${randomBytes(4).toString('hex')}`;
}

/** True when the process named by a pool directory (`<pid>-<start time>-…`) still runs. */
function ownerAlive(tag: string): boolean {
  const [pid, start] = tag.split('-');
  const n = Number(pid);
  return Number.isSafeInteger(n) && n > 0 && isProcessAlive(n) && processStartTime(n) === start;
}

/** Stops the entry's sandbox (if its file names one still running), unmounts and removes one pool entry. */
async function destroyEntry(dir: string): Promise<void> {
  const sandbox = await entrySandbox(dir);
  // stopSandbox checks the PID is still that sandbox's bwrap (start time, bound root) before killing
  if (sandbox) await stopSandbox(sandbox);
  await unmountDisk(join(dir, 'root'));
  await removeSandboxDir(dir);
}

/**
 * Removes what dead processes' pools left under `poolRoot` (a provider killed before it
 * could close its pool): their sandboxes are stopped, their disks unmounted (the loop
 * devices go with them) and deleted. Pools of live processes are left alone. Returns how many pools were removed.
 */
export async function sweepDeadPools(poolRoot: string): Promise<number> {
  let tags: string[];
  try {
    tags = await readdir(poolRoot);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const tag of tags) {
    if (ownerAlive(tag)) continue;
    const dir = join(poolRoot, tag);
    const entries = await readdir(dir).catch(() => [] as string[]);
    // every sandbox still running on a disk of this pool, its sandbox.json written or not
    // (not those adopted by a lease: their entries moved to the VMs' directories)
    for (const sandbox of sandboxesBinding(new Set(entries.map((e) => join(dir, e, 'root'))))) await stopSandbox(sandbox);
    for (const entry of entries) await destroyEntry(join(dir, entry));
    await removeSandboxDir(dir);
    removed++;
  }
  return removed;
}

/**
 * A small bounded pool of ready lease disks, each with its sandbox started, refilled in the
 * background one at a time. Each is made for one lease only: `take` hands it out once and
 * forgets it (the lease's teardown deletes it), so no disk or sandbox is ever shared or
 * reused. `close` stops the sandboxes not taken and unmounts and deletes their disks; a pool
 * a killed process left behind is removed by `sweepDeadPools` at the next start.
 */
export class DiskPool {
  readonly dir: string;
  private readonly ready = new Map<number, PooledDisk[]>();
  /** Disk sizes to keep ready, most recently leased last. */
  private readonly sizes: number[] = [];
  private filling: Promise<void> | undefined;
  private closed = false;
  private readonly log: Logger;
  /** Ends the pause before a delayed refill (see `want`) early. */
  private startNow: (() => void) | undefined;
  /** Resolved (and replaced) each time a refill step ends: a sandbox made, or the refill over. */
  private stepped = signal();

  constructor(private readonly options: DiskPoolOptions) {
    this.dir = join(options.poolRoot, ownerTag());
    this.log = options.logger ?? silentLogger;
  }

  /** Ready disks of `diskGb` GiB now. */
  count(diskGb: number): number {
    return this.ready.get(diskGb)?.length ?? 0;
  }

  /**
   * Keeps disks of `diskGb` GiB ready (forgetting the least recently wanted size beyond
   * POOL_DISK_SIZES_MAX) and refills: after `delayMs` (a provision passes REFILL_DELAY_MS,
   * so that making the next sandbox does not compete with the rest of the lease's accept),
   * or at once.
   */
  want(diskGb: number, delayMs = 0): void {
    if (this.closed || this.options.size <= 0) return;
    const i = this.sizes.indexOf(diskGb);
    if (i >= 0) this.sizes.splice(i, 1);
    this.sizes.push(diskGb);
    while (this.sizes.length > POOL_DISK_SIZES_MAX) {
      const old = this.sizes.shift()!;
      const drop = this.ready.get(old) ?? [];
      this.ready.delete(old);
      for (const d of drop) void destroyEntry(d.dir).catch((err) => this.log.warn('cannot remove a pooled disk', { dir: d.dir, err }));
    }
    this.refill(delayMs);
  }

  /**
   * As `take`; when none is ready but a refill is under way (or paused before it starts),
   * waits for it, started now, rather than have the caller make one beside it: the refill
   * is ahead, and two at once share the CPU. Undefined when the refill ends without one
   * for this caller (failed, or taken by another), or on abort.
   */
  async takeOrWait(diskGb: number, signal?: AbortSignal): Promise<PooledDisk | undefined> {
    for (;;) {
      const disk = this.take(diskGb);
      if (disk !== undefined || this.filling === undefined || !this.sizes.includes(diskGb) || signal?.aborted) return disk;
      const step = this.stepped.promise;
      this.startNow?.();
      await step;
    }
  }

  /** Takes a ready disk of `diskGb` GiB out of the pool (it is never handed out again), or undefined when none is ready. */
  take(diskGb: number): PooledDisk | undefined {
    return this.ready.get(diskGb)?.shift();
  }

  /**
   * Moves a taken disk to `vmDir` (which must not exist); undefined when the move fails
   * (that disk and its sandbox are then destroyed). The sandbox runs on: its handle names
   * the new directory and the root path bwrap was started with.
   */
  async moveTo(disk: PooledDisk, vmDir: string): Promise<PooledDisk | undefined> {
    try {
      // The mount moves with its directory (rename of the mount point's parent); the sandbox's
      // own mount namespace holds its root whatever the host path is.
      await rename(disk.dir, vmDir);
    } catch (err) {
      this.log.warn('cannot move a pooled disk; provisioning without it', { dir: disk.dir, err });
      await destroyEntry(disk.dir).catch(() => {});
      return undefined;
    }
    // the VM's record names the sandbox from here on
    await rm(join(vmDir, SANDBOX_FILE), { force: true });
    return { ...disk, dir: vmDir, sandbox: { ...disk.sandbox, dir: vmDir, root: boundRoot(disk.sandbox) } };
  }

  /** Destroys a taken disk that was not used. */
  discard(disk: PooledDisk): Promise<void> {
    return destroyEntry(disk.dir);
  }

  /** Resolves when no refill is running (every wanted size full, or a refill failed). */
  async idle(): Promise<void> {
    while (this.filling) await this.filling;
  }

  private refill(delayMs = 0): void {
    if (this.filling || this.closed) return;
    const next = () => [...this.sizes].reverse().find((s) => this.count(s) < this.options.size);
    if (next() === undefined) return;
    this.filling = (async () => {
      try {
        // From the next turn of the event loop (so `filling` is set before this can end), or
        // after the delay (cut short by `takeOrWait` and `close`); then one after another.
        await new Promise<void>((resolve) => {
          if (delayMs <= 0) {
            setImmediate(resolve);
            return;
          }
          const timer = setTimeout(resolve, delayMs);
          this.startNow = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.startNow = undefined;
        for (;;) {
          const size = next();
          if (size === undefined || this.closed) return;
          const disk = await this.make(size);
          if (this.closed || !this.sizes.includes(size)) {
            await destroyEntry(disk.dir);
            continue;
          }
          const list = this.ready.get(size) ?? [];
          list.push(disk);
          this.ready.set(size, list);
          this.step();
        }
      } catch (err) {
        // Provisioning goes on without a ready disk; the next take tries again.
        this.log.warn('cannot prepare a pooled disk', { err });
      } finally {
        this.startNow = undefined;
        this.filling = undefined;
        this.step();
      }
    })();
  }

  /** Wakes the callers of `takeOrWait` waiting on this refill. */
  private step(): void {
    this.stepped.resolve();
    this.stepped = signal();
  }

  private async make(diskGb: number): Promise<PooledDisk> {
    const dir = join(this.dir, randomBytes(8).toString('hex'));
    const root = join(dir, 'root');
    let started: SandboxHandle | undefined;
    try {
      await mkdir(dir, { recursive: true });
      const template = await ext4Template(this.options.templateDir, diskGb);
      await mountDisk(template, join(dir, 'disk.img'), root);
      await layoutRoot(this.options.deps, root);
      const { pub, fp } = await makeHostKey(this.options.deps.sshKeygen, rootHostKey(root), `root@${POOLED_HOSTNAME}`);
      // started here, in no cgroup of a lease yet; the lease that takes it moves it into its own
      started = await startSandbox(this.options.deps, { dir, hostname: POOLED_HOSTNAME, cgroups: [], prepared: true }, { logger: this.log });
      await writeFile(join(dir, SANDBOX_FILE), JSON.stringify(started));
      return { dir, diskGb, hostPublicKey: pub, hostKeyFingerprint: fp, sandbox: started };
    } catch (err) {
      if (started) await stopSandbox(started, { force: true }).catch(() => {});
      await destroyEntry(dir).catch(() => {});
      throw err;
    }
  }

  /** Stops refilling, then stops the sandboxes not taken, unmounts and deletes their disks, and the pool's directory. */
  async close(): Promise<void> {
    this.closed = true;
    this.startNow?.();
    await this.idle();
    const all = [...this.ready.values()].flat();
    this.ready.clear();
    for (const d of all) await destroyEntry(d.dir);
    await removeSandboxDir(this.dir);
  }
}
