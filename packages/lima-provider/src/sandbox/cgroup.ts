import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Resources } from '@xe/core-types';

export const CGROUP_ROOT = '/sys/fs/cgroup';

/** The limits a sandbox applies through cgroups. */
export const CGROUP_LIMITS = ['memory', 'pids', 'cpu', 'cpuset'] as const;
export type CgroupLimit = (typeof CGROUP_LIMITS)[number];

export interface CgroupSetup {
  /** Group directories the VM's processes join (one per v1 controller, or one v2 group). */
  dirs: string[];
  /** Limits in force, with how. */
  enforced: Partial<Record<CgroupLimit, string>>;
  /** Limits that could not be applied, with why. */
  missing: Partial<Record<CgroupLimit, string>>;
}

export interface CgroupOptions {
  /** cgroup mount point (default /sys/fs/cgroup). */
  root?: string;
  /** Process-count limit of the VM. */
  pidsMax: number;
}

/** "0-3,6" → [0,1,2,3,6] */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || !Number.isInteger(a)) continue;
    const end = b !== undefined && Number.isInteger(b) ? b : a;
    for (let i = a; i <= end && out.length < 4096; i++) out.push(i);
  }
  return out;
}

function read(path: string): string {
  return readFileSync(path, 'utf8').trim();
}

function tryLimit(out: CgroupSetup, limit: CgroupLimit, fn: () => string): void {
  try {
    out.enforced[limit] = fn();
  } catch (err) {
    out.missing[limit] = (err as Error).message;
  }
}

/** cgroup v1: one group per controller (`<root>/<controller>/<name>`). */
function setupV1(name: string, res: Resources, o: Required<CgroupOptions>): CgroupSetup {
  const out: CgroupSetup = { dirs: [], enforced: {}, missing: {} };
  const group = (controller: string, check: string): string => {
    const base = join(o.root, controller);
    if (!existsSync(join(base, check))) throw new Error(`cgroup v1 controller "${controller}" is not mounted at ${base}`);
    const dir = join(base, name);
    if (!existsSync(dir)) mkdirSync(dir);
    out.dirs.push(dir);
    return dir;
  };
  tryLimit(out, 'memory', () => {
    const dir = group('memory', 'memory.limit_in_bytes');
    const bytes = String(res.memory_mb * 1024 * 1024);
    writeFileSync(join(dir, 'memory.limit_in_bytes'), bytes);
    // No swap beyond the limit (the file exists only when swap accounting is on).
    if (existsSync(join(dir, 'memory.memsw.limit_in_bytes'))) writeFileSync(join(dir, 'memory.memsw.limit_in_bytes'), bytes);
    return `cgroup v1 memory.limit_in_bytes ${res.memory_mb} MiB`;
  });
  tryLimit(out, 'pids', () => {
    const dir = group('pids', 'cgroup.procs');
    writeFileSync(join(dir, 'pids.max'), String(o.pidsMax));
    return `cgroup v1 pids.max ${o.pidsMax}`;
  });
  tryLimit(out, 'cpu', () => {
    const dir = group('cpu', 'cpu.cfs_quota_us');
    writeFileSync(join(dir, 'cpu.cfs_period_us'), '100000');
    writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(res.vcpus * 100000));
    return `cgroup v1 cpu.cfs_quota_us ${res.vcpus} CPU`;
  });
  tryLimit(out, 'cpuset', () => {
    const base = join(o.root, 'cpuset');
    const cpus = parseCpuList(read(join(base, 'cpuset.effective_cpus'))).slice(0, res.vcpus);
    const mems = read(join(base, 'cpuset.effective_mems'));
    const dir = group('cpuset', 'cpuset.cpus');
    writeFileSync(join(dir, 'cpuset.cpus'), cpus.join(','));
    writeFileSync(join(dir, 'cpuset.mems'), mems);
    return `cgroup v1 cpuset.cpus ${cpus.join(',')}`;
  });
  return out;
}

/** cgroup v2: one group `<root>/<name>` with the controllers enabled in the root's subtree. */
function setupV2(name: string, res: Resources, o: Required<CgroupOptions>): CgroupSetup {
  const out: CgroupSetup = { dirs: [], enforced: {}, missing: {} };
  const available = read(join(o.root, 'cgroup.controllers')).split(/\s+/);
  const want = ['memory', 'pids', 'cpu', 'cpuset'].filter((c) => available.includes(c));
  const subtree = join(o.root, 'cgroup.subtree_control');
  const enabled = read(subtree).split(/\s+/);
  const add = want.filter((c) => !enabled.includes(c));
  if (add.length > 0) writeFileSync(subtree, add.map((c) => `+${c}`).join(' '));
  const dir = join(o.root, name);
  if (!existsSync(dir)) mkdirSync(dir);
  out.dirs.push(dir);
  const need = (c: string) => {
    if (!available.includes(c)) throw new Error(`cgroup v2 controller "${c}" is not available at ${o.root}`);
  };
  tryLimit(out, 'memory', () => {
    need('memory');
    writeFileSync(join(dir, 'memory.max'), String(res.memory_mb * 1024 * 1024));
    if (existsSync(join(dir, 'memory.swap.max'))) writeFileSync(join(dir, 'memory.swap.max'), '0');
    return `cgroup v2 memory.max ${res.memory_mb} MiB`;
  });
  tryLimit(out, 'pids', () => {
    need('pids');
    writeFileSync(join(dir, 'pids.max'), String(o.pidsMax));
    return `cgroup v2 pids.max ${o.pidsMax}`;
  });
  tryLimit(out, 'cpu', () => {
    need('cpu');
    writeFileSync(join(dir, 'cpu.max'), `${res.vcpus * 100000} 100000`);
    return `cgroup v2 cpu.max ${res.vcpus} CPU`;
  });
  tryLimit(out, 'cpuset', () => {
    need('cpuset');
    const cpus = parseCpuList(read(join(o.root, 'cpuset.cpus.effective'))).slice(0, res.vcpus);
    writeFileSync(join(dir, 'cpuset.cpus'), cpus.join(','));
    return `cgroup v2 cpuset.cpus ${cpus.join(',')}`;
  });
  return out;
}

/**
 * Puts the VM's limits in place: memory (no swap beyond it), process count, CPU time
 * (vcpus × 100 ms per 100 ms) and a cpuset of `vcpus` CPUs (so `nproc` = vcpus). Uses
 * cgroup v2 when its controllers are there, else the v1 hierarchies. Never throws: what
 * cannot be applied is listed in `missing` with the reason.
 */
export function setupCgroups(name: string, resources: Resources, options: CgroupOptions): CgroupSetup {
  const o: Required<CgroupOptions> = { root: options.root ?? CGROUP_ROOT, pidsMax: options.pidsMax };
  try {
    if (existsSync(join(o.root, 'cgroup.controllers'))) return setupV2(name, resources, o);
    return setupV1(name, resources, o);
  } catch (err) {
    const why = `cannot create cgroups under ${o.root}: ${(err as Error).message}`;
    return { dirs: [], enforced: {}, missing: { memory: why, pids: why, cpu: why, cpuset: why } };
  }
}

/** Removes the VM's groups (after its processes are gone). */
export function removeCgroups(dirs: readonly string[]): void {
  for (const dir of dirs) {
    try {
      rmdirSync(dir);
    } catch {
      // already gone, or still busy: nothing more can be done here
    }
  }
}
