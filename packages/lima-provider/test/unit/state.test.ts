import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type VmRecord, VmStateStore, claimVm, recordOfLease } from '../../src/state.js';

describe('VmStateStore', () => {
  it('round-trips records (ns timestamps above 2^53 exactly) and leaves no temp files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xe-state-'));
    try {
      const store = new VmStateStore(dir);
      const rec: VmRecord = {
        name: 'xe-0123456789ab',
        lease_hash: `0123456789ab${'0'.repeat(52)}`,
        backend: 'sandbox',
        status: 'running',
        resources: { vcpus: 1, memory_mb: 512, disk_gb: 1 },
        access_pub_key: 'ab'.repeat(32),
        created_at: 1_732_800_000_123_456_789n,
        limits: { enforced: false, not_enforced: ['memory'], reason: 'test', cgroups: ['/sys/fs/cgroup/pids/xe-x'] },
        host_key_fingerprint: 'SHA256:abc',
        host_public_key: `ssh-ed25519 ${'A'.repeat(68)}`,
        sandbox: { pid: 123, pid_start_time: '98765', init_pid: 124, dir: '/x' },
      };
      await store.put(rec);
      await store.put({ ...rec, status: 'running' });
      expect(await store.get(rec.name)).toEqual(rec);
      expect(await store.all()).toEqual([rec]);
      expect([...readdirSync(join(dir, 'vms'))]).toEqual(['xe-0123456789ab.json']);
      await store.delete(rec.name);
      expect(await store.get(rec.name)).toBe(undefined);
      await store.delete(rec.name);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('claimVm and recordOfLease', () => {
  const a = `0123456789ab${'0'.repeat(52)}`;
  const b = `0123456789ab${'f'.repeat(52)}`; // same VM name, another lease
  const rec = (lease: string): VmRecord => ({
    name: 'xe-0123456789ab',
    lease_hash: lease,
    backend: 'sandbox',
    status: 'running',
    resources: { vcpus: 1, memory_mb: 128, disk_gb: 1 },
    access_pub_key: 'ab'.repeat(32),
    created_at: 1n,
    limits: { enforced: true, not_enforced: [], reason: '' },
  });
  const codeOf = async (p: Promise<unknown>) => p.then(() => undefined, (err: { code?: string }) => err.code);

  it('refuses a lease whose name is taken by another lease (stored or in flight) with VM_NAME_COLLISION', async () => {
    const stored = { get: async (name: string) => (name === 'xe-0123456789ab' ? rec(a) : undefined) };
    expect(await codeOf(claimVm(new Map(), stored, b, 'xe-0123456789ab'))).toBe('VM_NAME_COLLISION');
    expect(await codeOf(claimVm(new Map(), stored, a, 'xe-0123456789ab'))).toBe('VM_EXISTS');
    const empty = { get: async () => undefined };
    const busy = new Map<string, string>();
    await claimVm(busy, empty, a, 'xe-0123456789ab');
    expect(await codeOf(claimVm(busy, empty, b, 'xe-0123456789ab'))).toBe('VM_NAME_COLLISION');
    expect(await codeOf(claimVm(busy, empty, a, 'xe-0123456789ab'))).toBe('VM_EXISTS');
    expect(busy.get('xe-0123456789ab')).toBe(a);
  });

  it('gives a record only to the lease it names in full', async () => {
    const stored = { get: async () => rec(a) };
    expect((await recordOfLease(stored, a, 'xe-0123456789ab'))?.lease_hash).toBe(a);
    expect(await recordOfLease(stored, b, 'xe-0123456789ab')).toBeUndefined();
  });
});
