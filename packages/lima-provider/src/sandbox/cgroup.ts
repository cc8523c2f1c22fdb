import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Resources } from '@xe/core-types';
import type { VmLimits } from '../types.js';

export const CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * Creates `<root>/xe-<name>` with memory.max and cpu.max when cgroup v2 with the memory
 * and cpu controllers is available and writable; otherwise says why not.
 */
export function setupCgroup(name: string, resources: Resources, root = CGROUP_ROOT): VmLimits {
  const controllersFile = join(root, 'cgroup.controllers');
  if (!existsSync(controllersFile)) {
    return { enforced: false, reason: `cgroup v2 is not mounted at ${root} (no cgroup.controllers)` };
  }
  try {
    const available = readFileSync(controllersFile, 'utf8').trim().split(/\s+/);
    for (const c of ['memory', 'cpu']) {
      if (!available.includes(c)) return { enforced: false, reason: `cgroup v2 controller "${c}" is not available at ${root}` };
    }
    const subtree = join(root, 'cgroup.subtree_control');
    const enabled = readFileSync(subtree, 'utf8').trim().split(/\s+/);
    const missing = ['memory', 'cpu'].filter((c) => !enabled.includes(c));
    if (missing.length > 0) writeFileSync(subtree, missing.map((c) => `+${c}`).join(' '));
    const dir = join(root, name);
    if (!existsSync(dir)) mkdirSync(dir);
    if (resources.memory_mb > 0) writeFileSync(join(dir, 'memory.max'), String(resources.memory_mb * 1024 * 1024));
    if (resources.vcpus > 0) writeFileSync(join(dir, 'cpu.max'), `${resources.vcpus * 100000} 100000`);
    return {
      enforced: true,
      reason: `cgroup v2: memory.max ${resources.memory_mb > 0 ? `${resources.memory_mb} MiB` : 'max'}, cpu.max ${resources.vcpus > 0 ? `${resources.vcpus} CPU` : 'max'}`,
      cgroup: dir,
    };
  } catch (err) {
    return { enforced: false, reason: `cannot create a cgroup v2 group under ${root}: ${(err as Error).message}` };
  }
}

/** Removes the VM's cgroup (after its processes are gone). */
export function removeCgroup(limits: VmLimits): void {
  if (!limits.cgroup) return;
  try {
    rmdirSync(limits.cgroup);
  } catch {
    // already gone, or still busy: nothing more can be done here
  }
}
