import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { type Logger, silentLogger } from '@xe/core-types';
import { isProcessAlive, processStartTime } from '../proc.js';
import { makeHostKey } from '../ssh-keygen.js';
import type { SandboxDeps } from './deps.js';
import { ext4Template, mountDisk, unmountDisk } from './disk.js';
import { layoutRoot, removeSandboxDir, rootHostKey } from './sandbox.js';

/** Most ready disks a pool keeps per disk size. */
export const POOL_SIZE_MAX = 8;
/** Most disk sizes a pool keeps ready disks for (the sizes most recently leased). */
export const POOL_DISK_SIZES_MAX = 2;

/** A ready disk: a fresh copy of the size's ext4 template, loop-mounted at `<dir>/root`, laid out, with its own host key. */
export interface PooledDisk {
  dir: string;
  diskGb: number;
  /** The root's host key, `ssh-ed25519 <base64>`, and its fingerprint. */
  hostPublicKey: string;
  hostKeyFingerprint: string;
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

/** Unmounts and removes one pool entry (or a VM directory made from one). */
async function destroyEntry(dir: string): Promise<void> {
  await unmountDisk(join(dir, 'root'));
  await removeSandboxDir(dir);
}

/**
 * Removes what dead processes' pools left under `poolRoot` (a provider killed before it
 * could close its pool): their disks are unmounted (the loop devices go with them) and
 * deleted. Pools of live processes are left alone. Returns how many pools were removed.
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
    for (const entry of await readdir(dir).catch(() => [] as string[])) await destroyEntry(join(dir, entry));
    await removeSandboxDir(dir);
    removed++;
  }
  return removed;
}

/**
 * A small bounded pool of ready lease disks, refilled in the background one disk at a
 * time. Each disk is made for one lease only: `take` hands it out once and forgets it (the
 * lease's teardown deletes it), so no disk is ever shared or reused. `close` unmounts and
 * deletes the disks not taken; a pool a killed process left behind is removed by
 * `sweepDeadPools` at the next start.
 */
export class DiskPool {
  readonly dir: string;
  private readonly ready = new Map<number, PooledDisk[]>();
  /** Disk sizes to keep ready, most recently leased last. */
  private readonly sizes: number[] = [];
  private filling: Promise<void> | undefined;
  private closed = false;
  private readonly log: Logger;

  constructor(private readonly options: DiskPoolOptions) {
    this.dir = join(options.poolRoot, ownerTag());
    this.log = options.logger ?? silentLogger;
  }

  /** Ready disks of `diskGb` GiB now. */
  count(diskGb: number): number {
    return this.ready.get(diskGb)?.length ?? 0;
  }

  /** Keeps disks of `diskGb` GiB ready (forgetting the least recently wanted size beyond POOL_DISK_SIZES_MAX) and refills. */
  want(diskGb: number): void {
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
    this.refill();
  }

  /** Takes a ready disk of `diskGb` GiB out of the pool (it is never handed out again), or undefined when none is ready. */
  take(diskGb: number): PooledDisk | undefined {
    return this.ready.get(diskGb)?.shift();
  }

  /**
   * Moves a taken disk to `vmDir` (which must not exist); undefined when the move fails
   * (that disk is then destroyed).
   */
  async moveTo(disk: PooledDisk, vmDir: string): Promise<PooledDisk | undefined> {
    try {
      // The mount moves with its directory (rename of the mount point's parent).
      await rename(disk.dir, vmDir);
    } catch (err) {
      this.log.warn('cannot move a pooled disk; provisioning without it', { dir: disk.dir, err });
      await destroyEntry(disk.dir).catch(() => {});
      return undefined;
    }
    return { ...disk, dir: vmDir };
  }

  /** Destroys a taken disk that was not used. */
  discard(disk: PooledDisk): Promise<void> {
    return destroyEntry(disk.dir);
  }

  /** Resolves when no refill is running (every wanted size full, or a refill failed). */
  async idle(): Promise<void> {
    while (this.filling) await this.filling;
  }

  private refill(): void {
    if (this.filling || this.closed) return;
    const next = () => [...this.sizes].reverse().find((s) => this.count(s) < this.options.size);
    if (next() === undefined) return;
    this.filling = (async () => {
      try {
        // From the next turn of the event loop (so `filling` is set before this can end), one disk after another.
        await new Promise((r) => setImmediate(r));
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
        }
      } catch (err) {
        // Provisioning goes on without a ready disk; the next take tries again.
        this.log.warn('cannot prepare a pooled disk', { err });
      } finally {
        this.filling = undefined;
      }
    })();
  }

  private async make(diskGb: number): Promise<PooledDisk> {
    const dir = join(this.dir, randomBytes(8).toString('hex'));
    const root = join(dir, 'root');
    try {
      await mkdir(dir, { recursive: true });
      const template = await ext4Template(this.options.templateDir, diskGb);
      await mountDisk(template, join(dir, 'disk.img'), root);
      await layoutRoot(this.options.deps, root);
      const { pub, fp } = await makeHostKey(this.options.deps.sshKeygen, rootHostKey(root), 'root@xe-sandbox');
      return { dir, diskGb, hostPublicKey: pub, hostKeyFingerprint: fp };
    } catch (err) {
      await destroyEntry(dir).catch(() => {});
      throw err;
    }
  }

  /** Stops refilling, then unmounts and deletes every disk not taken, and the pool's directory. */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
    const all = [...this.ready.values()].flat();
    this.ready.clear();
    for (const d of all) await destroyEntry(d.dir);
    await removeSandboxDir(this.dir);
  }
}
