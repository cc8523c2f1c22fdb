import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeCgroup, setupCgroup } from '../../src/sandbox/cgroup.js';

const RES = { vcpus: 2, memory_mb: 256, disk_gb: 1 };

describe('setupCgroup', () => {
  it('reports limits as unenforced, with the reason, without cgroup v2', () => {
    const root = mkdtempSync(join(tmpdir(), 'xe-cg-'));
    try {
      const l = setupCgroup('xe-0123456789ab', RES, root);
      assert.equal(l.enforced, false);
      assert.match(l.reason, /cgroup v2 is not mounted/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
  it('reports a missing controller', () => {
    const root = mkdtempSync(join(tmpdir(), 'xe-cg-'));
    try {
      writeFileSync(join(root, 'cgroup.controllers'), 'cpu io\n');
      const l = setupCgroup('xe-0123456789ab', RES, root);
      assert.equal(l.enforced, false);
      assert.match(l.reason, /"memory" is not available/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
  it('writes memory.max and cpu.max into xe-<name> when the hierarchy allows it', () => {
    // A directory laid out like a cgroup v2 hierarchy (the kernel's files are plain files here).
    const root = mkdtempSync(join(tmpdir(), 'xe-cg-'));
    try {
      writeFileSync(join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
      writeFileSync(join(root, 'cgroup.subtree_control'), '');
      const l = setupCgroup('xe-0123456789ab', RES, root);
      assert.equal(l.enforced, true);
      assert.equal(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8'), '+memory +cpu');
      assert.equal(readFileSync(join(root, 'xe-0123456789ab/memory.max'), 'utf8'), String(256 * 1024 * 1024));
      assert.equal(readFileSync(join(root, 'xe-0123456789ab/cpu.max'), 'utf8'), '200000 100000');
      assert.equal(l.cgroup, join(root, 'xe-0123456789ab'));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
  it('removing an absent cgroup is harmless', () => {
    removeCgroup({ enforced: true, reason: '', cgroup: '/nonexistent/xe-x' });
    assert.equal(existsSync('/nonexistent/xe-x'), false);
  });
});
