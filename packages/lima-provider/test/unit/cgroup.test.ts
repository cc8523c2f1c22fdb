import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCpuList, removeCgroups, setupCgroups } from '../../src/sandbox/cgroup.js';

const RES = { vcpus: 2, memory_mb: 256, disk_gb: 1 };
const NAME = 'xe-0123456789ab';

function scratch(fn: (root: string) => void): void {
  const root = mkdtempSync(join(tmpdir(), 'xe-cg-'));
  try {
    fn(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

describe('setupCgroups', () => {
  it('parses cpu lists', () => {
    expect(parseCpuList('0-3,6\n')).toEqual([0, 1, 2, 3, 6]);
    expect(parseCpuList('1')).toEqual([1]);
  });

  it('lists every limit as missing, with the reason, when no controller is mounted', () => {
    scratch((root) => {
      const s = setupCgroups(NAME, RES, { root, pidsMax: 100 });
      expect(Object.keys(s.missing).sort()).toEqual(['cpu', 'cpuset', 'memory', 'pids']);
      expect(s.missing.memory).toMatch(/"memory" is not mounted/);
      expect(s.dirs).toEqual([]);
    });
  });

  it('cgroup v1: one group per controller with memory, pids, cpu quota and a cpuset of vcpus CPUs', () => {
    // Directories laid out like the v1 hierarchies (the kernel's files are plain files here).
    scratch((root) => {
      for (const [c, files] of Object.entries({
        memory: ['memory.limit_in_bytes'],
        pids: ['cgroup.procs'],
        cpu: ['cpu.cfs_quota_us'],
        cpuset: ['cpuset.cpus', 'cpuset.effective_cpus', 'cpuset.effective_mems'],
      })) {
        mkdirSync(join(root, c));
        for (const f of files) writeFileSync(join(root, c, f), '');
      }
      writeFileSync(join(root, 'cpuset/cpuset.effective_cpus'), '0-3\n');
      writeFileSync(join(root, 'cpuset/cpuset.effective_mems'), '0\n');
      const s = setupCgroups(NAME, RES, { root, pidsMax: 77 });
      expect(s.missing).toEqual({});
      expect(s.dirs).toEqual(['memory', 'pids', 'cpu', 'cpuset'].map((c) => join(root, c, NAME)));
      const read = (f: string) => readFileSync(join(root, f), 'utf8');
      expect(read(`memory/${NAME}/memory.limit_in_bytes`)).toBe(String(256 * 1024 * 1024));
      expect(read(`pids/${NAME}/pids.max`)).toBe('77');
      expect(read(`cpu/${NAME}/cpu.cfs_quota_us`)).toBe('200000');
      expect(read(`cpuset/${NAME}/cpuset.cpus`)).toBe('0,1');
      expect(read(`cpuset/${NAME}/cpuset.mems`)).toBe('0');
    });
  });

  it('cgroup v2: memory.max, pids.max, cpu.max and cpuset.cpus in one group', () => {
    scratch((root) => {
      writeFileSync(join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
      writeFileSync(join(root, 'cgroup.subtree_control'), '');
      writeFileSync(join(root, 'cpuset.cpus.effective'), '0-7\n');
      const s = setupCgroups(NAME, RES, { root, pidsMax: 50 });
      expect(s.missing).toEqual({});
      expect(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8')).toBe('+memory +pids +cpu +cpuset');
      expect(readFileSync(join(root, NAME, 'memory.max'), 'utf8')).toBe(String(256 * 1024 * 1024));
      expect(readFileSync(join(root, NAME, 'pids.max'), 'utf8')).toBe('50');
      expect(readFileSync(join(root, NAME, 'cpu.max'), 'utf8')).toBe('200000 100000');
      expect(readFileSync(join(root, NAME, 'cpuset.cpus'), 'utf8')).toBe('0,1');
      expect(s.dirs).toEqual([join(root, NAME)]);
    });
  });

  it('cgroup v2 without the memory controller says so', () => {
    scratch((root) => {
      writeFileSync(join(root, 'cgroup.controllers'), 'cpu pids\n');
      writeFileSync(join(root, 'cgroup.subtree_control'), '');
      const s = setupCgroups(NAME, RES, { root, pidsMax: 50 });
      expect(s.missing.memory).toMatch(/"memory" is not available/);
      expect(s.enforced.cpu).toMatch(/cpu.max/);
    });
  });

  it('removing absent groups is harmless', () => {
    removeCgroups(['/nonexistent/xe-x']);
    expect(existsSync('/nonexistent/xe-x')).toBe(false);
  });
});
