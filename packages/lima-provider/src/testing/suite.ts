import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { EXEC_OUTPUT_CAP_BYTES, type Hash, type Resources } from '@xe/core-types';
import { vmName } from '../keys.js';
import { portClosed } from '../net.js';
import { isProcessAlive } from '../proc.js';
import type { VmManager } from '../types.js';
import { type LeaseKey, makeLeaseKey, makeTempDir, processesMentioning, randomLeaseHash, removeDir, sshRun } from './helpers.js';

type Fn = () => void | Promise<void>;

/** The test functions the suite needs (pass jest's or node:test's globals). */
export interface TestApi {
  describe(name: string, fn: () => void): void;
  it(name: string, fn: Fn, timeoutMs?: number): void;
  beforeAll(fn: Fn, timeoutMs?: number): void;
  afterAll(fn: Fn, timeoutMs?: number): void;
}

export interface VmManagerHarness {
  name: string;
  /** A manager over `dataDir`; called again with the same directory to simulate a provider restart. */
  create(dataDir: string): VmManager | Promise<VmManager>;
  /**
   * Provisions in another OS process that exits afterwards (a provider that died). When
   * absent, the suite provisions with a manager it then abandons.
   */
  provisionInOtherProcess?(dataDir: string, leaseHash: Hash, resources: Resources, accessPubKey: string): Promise<void>;
  /** Per-test timeout (default 60 s). */
  timeoutMs?: number;
}

const RES: Resources = { vcpus: 1, memory_mb: 512, disk_gb: 1 };

function hasCode(code: string) {
  return (err: unknown) => {
    assert.equal((err as { code?: unknown }).code, code, `expected code ${code}, got ${String(err)}`);
    return true;
  };
}

async function assertGone(pids: number[], port: number | undefined): Promise<void> {
  for (const pid of pids) assert.equal(isProcessAlive(pid), false, `process ${pid} is still alive`);
  if (port !== undefined) assert.equal(await portClosed(port), true, `port ${port} still accepts connections`);
}

/** The compliance suite every VmManager backend passes. Uses real processes, real sshd and the real ssh client. */
export function vmManagerTests(harness: VmManagerHarness, t: TestApi): void {
  const T = harness.timeoutMs ?? 60_000;
  t.describe(`VmManager compliance: ${harness.name}`, () => {
    let dir = '';
    let dataDir = '';
    let m: VmManager;
    let key: LeaseKey;
    let other: LeaseKey;
    const lease = randomLeaseHash();
    const managers: VmManager[] = [];
    const create = async (d: string) => {
      const mgr = await harness.create(d);
      managers.push(mgr);
      return mgr;
    };

    t.beforeAll(async () => {
      dir = await makeTempDir('xe-vmt-');
      dataDir = join(dir, 'd');
      await mkdir(join(dir, 'keys'), { recursive: true });
      key = await makeLeaseKey(join(dir, 'keys'), 'lease');
      other = await makeLeaseKey(join(dir, 'keys'), 'other');
      m = await create(dataDir);
    }, T);

    t.afterAll(async () => {
      for (const mgr of managers) {
        for (const vm of await mgr.list()) await mgr.teardown(vm.lease_hash);
      }
      if (dir) await removeDir(dir);
    }, T);

    t.it('provision → running; ssh with the lease key prints the VM name', async () => {
      const vm = await m.provision(lease, RES, key.pubHex);
      assert.equal(vm.lease_hash, lease);
      assert.equal(vm.status, 'running');
      assert.deepEqual(vm.resources, RES);
      assert.equal(typeof vm.created_at, 'bigint');
      assert.deepEqual((await m.get(lease))?.status, 'running');
      assert.deepEqual((await m.list()).map((v) => v.lease_hash), [lease]);
      const d = await m.details(lease);
      assert.ok(d?.ssh_port, 'details give the ssh port');
      const r = await sshRun(d.ssh_port, key.keyFile, 'hostname');
      assert.equal(r.stderr, '');
      assert.equal(r.exit_code, 0);
      assert.equal(r.stdout.trim(), vmName(lease));
    }, T);

    t.it('refuses another key', async () => {
      const d = await m.details(lease);
      const r = await sshRun(d!.ssh_port!, other.keyFile, 'hostname');
      assert.equal(r.exit_code, 255);
      assert.match(r.stderr, /Permission denied/);
      assert.equal(r.stdout, '');
    }, T);

    t.it('dialSsh gives a socket connected to the VM sshd', async () => {
      const sock = await m.dialSsh(lease);
      const [data] = (await once(sock, 'data')) as [Buffer];
      sock.destroy();
      assert.match(data.toString('latin1'), /^SSH-2\.0-/);
    }, T);

    t.it('exec returns exit code, stdout and stderr faithfully', async () => {
      const r = await m.exec(lease, 'echo out; echo err >&2; printf "no newline"; exit 7');
      assert.deepEqual(r, { exit_code: 7, stdout: 'out\nno newline', stderr: 'err\n' });
      const s = await m.exec(lease, 'echo only-err >&2');
      assert.deepEqual(s, { exit_code: 0, stdout: '', stderr: 'only-err\n' });
    }, T);

    t.it('exec runs inside the VM: same hostname and file system as ssh', async () => {
      const r = await m.exec(lease, 'hostname; echo "$(id -u)" > /root/xe-exec-mark; cat /root/xe-exec-mark');
      assert.equal(r.exit_code, 0);
      assert.equal(r.stdout, `${vmName(lease)}\n${(await m.exec(lease, 'id -u')).stdout}`);
      const d = await m.details(lease);
      const s = await sshRun(d!.ssh_port!, key.keyFile, 'cat /root/xe-exec-mark');
      assert.equal(s.stdout, r.stdout.split('\n')[1] + '\n');
    }, T);

    t.it('exec cuts 5 MB of output at 1 MiB per stream and marks it', async () => {
      const r = await m.exec(lease, 'head -c 5000000 /dev/zero | tr "\\0" a; head -c 5000000 /dev/zero | tr "\\0" b >&2');
      assert.equal(r.exit_code, 0);
      assert.equal(r.stdout.length, EXEC_OUTPUT_CAP_BYTES);
      assert.equal(r.stderr.length, EXEC_OUTPUT_CAP_BYTES);
      assert.equal(r.stdout, 'a'.repeat(EXEC_OUTPUT_CAP_BYTES));
      assert.equal(r.stderr, 'b'.repeat(EXEC_OUTPUT_CAP_BYTES));
      assert.equal(r.stdout_truncated, true);
      assert.equal(r.stderr_truncated, true);
      const small = await m.exec(lease, 'echo fine');
      assert.equal(small.stdout_truncated, undefined);
    }, T);

    t.it('exec kills a command at its timeout, children included', async () => {
      const started = Date.now();
      const r = await m.exec(lease, 'sleep 30 & echo $! > /tmp/xe-bg.pid; echo started; wait', { timeoutMs: 1500 });
      assert.equal(r.timed_out, true);
      assert.equal(r.stdout, 'started\n');
      assert.ok(Date.now() - started < 10_000, 'returned soon after the timeout');
      const check = await m.exec(lease, 'if kill -0 "$(cat /tmp/xe-bg.pid)" 2>/dev/null; then echo alive; else echo gone; fi');
      assert.equal(check.stdout, 'gone\n');
    }, T);

    t.it('rejects bad input with coded errors', async () => {
      const l = randomLeaseHash();
      await assert.rejects(m.provision(l, RES, 'abcd'), hasCode('INVALID_ACCESS_KEY'));
      await assert.rejects(m.provision(l, RES, key.pubHex.toUpperCase()), hasCode('INVALID_ACCESS_KEY'));
      await assert.rejects(m.provision(l, RES, `${'a'.repeat(56)}';id;#'`), hasCode('INVALID_ACCESS_KEY'));
      await assert.rejects(m.provision(l, RES, `${'a'.repeat(59)}$(id)`), hasCode('INVALID_ACCESS_KEY'));
      await assert.rejects(m.provision(l, { vcpus: 0, memory_mb: 0, disk_gb: 0 }, key.pubHex), hasCode('INVALID_RESOURCES'));
      await assert.rejects(m.provision(l, { vcpus: -1, memory_mb: 1, disk_gb: 1 }, key.pubHex), hasCode('INVALID_RESOURCES'));
      await assert.rejects(m.provision('xyz', RES, key.pubHex), hasCode('INVALID_LEASE_HASH'));
      await assert.rejects(m.provision(lease, RES, key.pubHex), hasCode('VM_EXISTS'));
      // Two concurrent provisions of one lease: exactly one wins.
      const twice = await Promise.allSettled([m.provision(l, RES, key.pubHex), m.provision(l, RES, key.pubHex)]);
      assert.equal(twice.filter((s) => s.status === 'fulfilled').length, 1);
      const lost = twice.find((s) => s.status === 'rejected') as PromiseRejectedResult;
      assert.equal((lost.reason as { code?: string }).code, 'VM_EXISTS');
      await m.teardown(l);
      await assert.rejects(m.exec(l, 'true'), hasCode('VM_NOT_FOUND'));
      await assert.rejects(m.dialSsh(l), hasCode('VM_NOT_FOUND'));
      assert.equal(await m.get(l), undefined);
      assert.equal(processesMentioning(vmName(l)).length, 0);
      await m.teardown(l); // unknown lease: a no-op
    }, T);

    t.it('teardown leaves no process and no port behind, and is idempotent', async () => {
      const l = randomLeaseHash();
      await m.provision(l, RES, key.pubHex);
      const d = await m.details(l);
      assert.ok(d && d.pids.length > 0 && d.ssh_port);
      for (const pid of d.pids) assert.equal(isProcessAlive(pid), true);
      await m.teardown(l);
      await assertGone(d.pids, d.ssh_port);
      assert.deepEqual(processesMentioning(vmName(l)), []);
      assert.equal(await m.get(l), undefined);
      await m.teardown(l);
    }, T);

    t.it('an aborted provision tears down whatever it started', async () => {
      const pre = randomLeaseHash();
      await assert.rejects(m.provision(pre, RES, key.pubHex, { signal: AbortSignal.abort() }), hasCode('ABORTED'));
      assert.equal(await m.get(pre), undefined);
      const l = randomLeaseHash();
      const ac = new AbortController();
      const p = m.provision(l, RES, key.pubHex, { signal: ac.signal });
      // Abort mid-way: as soon as a process of this VM exists.
      const started = Date.now();
      const poll = setInterval(() => {
        if (processesMentioning(vmName(l)).length > 0 || Date.now() - started > 5000) {
          clearInterval(poll);
          ac.abort();
        }
      }, 5);
      await assert.rejects(p, hasCode('ABORTED'));
      clearInterval(poll);
      assert.equal(await m.get(l), undefined);
      assert.deepEqual(processesMentioning(vmName(l)), []);
    }, T);

    t.it('reconcile after a restart adopts the VM of an active lease and tears down the other', async () => {
      const keep = randomLeaseHash();
      const drop = randomLeaseHash();
      const rDir = join(dir, 'r');
      if (harness.provisionInOtherProcess) {
        await harness.provisionInOtherProcess(rDir, keep, RES, key.pubHex);
        await harness.provisionInOtherProcess(rDir, drop, RES, other.pubHex);
      } else {
        const old = await create(rDir);
        await old.provision(keep, RES, key.pubHex);
        await old.provision(drop, RES, other.pubHex);
      }
      const fresh = await create(rDir);
      const before = await fresh.details(drop);
      assert.ok(before?.ssh_port);
      const result = await fresh.reconcile((h) => h === keep);
      assert.deepEqual(result, { adopted: [keep], removed: [drop], lost: [] });
      const d = await fresh.details(keep);
      assert.equal(d?.status, 'running');
      const r = await sshRun(d!.ssh_port!, key.keyFile, 'hostname');
      assert.equal(r.stdout.trim(), vmName(keep));
      assert.equal((await fresh.exec(keep, 'echo adopted')).stdout, 'adopted\n');
      await assertGone(before.pids, before.ssh_port);
      assert.equal(await fresh.get(drop), undefined);
      // Reconciling again is stable; then the lease ends.
      assert.deepEqual(await fresh.reconcile(() => true), { adopted: [keep], removed: [], lost: [] });
      await fresh.teardown(keep);
      await assertGone(d!.pids, d!.ssh_port);
    }, T * 2);
  });
}
