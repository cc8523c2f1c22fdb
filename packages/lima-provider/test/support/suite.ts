import { mkdirSync, readdirSync, watch } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server, connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EXEC_OUTPUT_CAP_BYTES, type Hash, type Resources } from '@xe/core-types';
import { vmName } from '../../src/keys.js';
import { portClosed } from '../../src/net.js';
import { isProcessAlive, runCapped } from '../../src/proc.js';
import type { VmManager } from '../../src/types.js';
import { type LeaseKey, makeLeaseKey, makeTempDir, processesMentioning, randomLeaseHash, removeDir, sshVm, withSshPort } from './helpers.js';

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
  /**
   * Isolation and limit cases, run from inside one leased VM. Absent: skipped (a backend
   * whose VMs are not isolated on this machine, such as Lima's test double).
   */
  isolation?: {
    /** A shell command, run in the VM, that exits 0 when a TCP connection to host:port succeeds. */
    tcpProbe(host: string, port: number): string;
    /** In-VM control: a host:port that the probe reaches from inside the VM (absent: the probe is checked on the host). */
    probeControl?: { host: string; port: number };
    /** Further addresses to probe from inside the VM (QEMU: its user-mode gateway 10.0.2.2). */
    extraHosts?: string[];
    /** The VM's process-count limit. */
    pidsMax: number;
  };
}

/** The lease the suite's main VM runs (the one the tenant tried: 1 vCPU, 256 MB, 1 GB). */
const RES: Resources = { vcpus: 1, memory_mb: 256, disk_gb: 1 };

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code;
  }
  throw new Error('expected a rejection');
}

async function expectGone(pids: number[], port: number | undefined): Promise<void> {
  for (const pid of pids) expect(isProcessAlive(pid)).toBe(false);
  if (port !== undefined) expect(await portClosed(port)).toBe(true);
}

/** Paths under `dir` whose name mentions `needle`. */
function filesMentioning(dir: string, needle: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.name.includes(needle)) out.push(p);
      if (e.isDirectory() && !e.isSymbolicLink()) walk(p);
    }
  };
  walk(dir);
  return out;
}

function hostConnects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 3000 });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

/** The compliance suite every VmManager backend passes. Uses real processes, real sshd and the real ssh client. */
export function vmManagerTests(harness: VmManagerHarness): void {
  const T = harness.timeoutMs ?? 60_000;
  describe(`VmManager compliance: ${harness.name}`, () => {
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

    beforeAll(async () => {
      dir = await makeTempDir('xe-vmt-');
      dataDir = join(dir, 'd');
      await mkdir(join(dir, 'keys'), { recursive: true });
      key = await makeLeaseKey(join(dir, 'keys'), 'lease');
      other = await makeLeaseKey(join(dir, 'keys'), 'other');
      m = await create(dataDir);
    }, T);

    afterAll(async () => {
      for (const mgr of managers) {
        for (const vm of await mgr.list()) await mgr.teardown(vm.lease_hash);
        await mgr.close?.();
      }
      if (dir) await removeDir(dir);
    }, T);

    it('provision → running; ssh with the lease key prints the VM name', async () => {
      const vm = await m.provision(lease, RES, key.pubHex);
      expect(vm).toMatchObject({ lease_hash: lease, status: 'running', resources: RES });
      expect(typeof vm.created_at).toBe('bigint');
      expect((await m.get(lease))?.status).toBe('running');
      expect((await m.list()).map((v) => v.lease_hash)).toEqual([lease]);
      const r = await sshVm(m, lease, key.keyFile, 'hostname');
      expect(r).toEqual({ exit_code: 0, stdout: `${vmName(lease)}\n`, stderr: '' });
    }, T);

    it("the VM object carries the VM's own host key: ssh pinned to host_public_key connects, its fingerprint is the reported one", async () => {
      const vm = await m.get(lease);
      expect(vm?.host_public_key).toMatch(/^ssh-ed25519 [A-Za-z0-9+/]{68}$/);
      expect(vm?.host_key_fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
      const knownHosts = join(dir, 'keys', 'known_hosts');
      const r = await withSshPort(m, lease, async (port) => {
        await writeFile(knownHosts, `[127.0.0.1]:${port} ${vm!.host_public_key}\n`);
        return runCapped(
          'ssh',
          [
            ...['-i', key.keyFile, '-p', String(port), '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`],
            ...['-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'HostKeyAlgorithms=ssh-ed25519', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes'],
            ...['-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=10', 'root@127.0.0.1', 'echo pinned'],
          ],
          { timeoutMs: 20_000 },
        );
      });
      expect(r).toEqual({ exit_code: 0, stdout: 'pinned\n', stderr: '' });
      const fp = await runCapped('ssh-keygen', ['-l', '-E', 'sha256', '-f', knownHosts], { timeoutMs: 10_000 });
      expect(fp.stdout).toContain(vm!.host_key_fingerprint!);
      // Kept in the state record: a manager over the same data directory (a restarted provider) reports the same key.
      const again = await create(dataDir);
      expect((await again.get(lease))?.host_public_key).toBe(vm!.host_public_key);
    }, T);

    it('refuses another key', async () => {
      const r = await sshVm(m, lease, other.keyFile, 'hostname');
      expect(r.exit_code).toBe(255);
      expect(r.stderr).toMatch(/Permission denied/);
      expect(r.stdout).toBe('');
    }, T);

    it('a lease whose VM name collides with another lease is refused and cannot touch that VM', async () => {
      // Same first 12 hex (the VM name), a different lease: a ground collision of the name.
      const twin = `${lease.slice(0, 12)}${lease.slice(12).replace(/./, (c) => (c === '0' ? '1' : '0'))}`;
      expect(twin).not.toBe(lease);
      expect(vmName(twin)).toBe(vmName(lease));
      let refused: { code?: string; details?: Record<string, unknown> } = {};
      await m.provision(twin, RES, key.pubHex).catch((err: { code?: string; details?: Record<string, unknown> }) => (refused = err));
      expect(refused.code).toBe('VM_NAME_COLLISION');
      expect(refused.details).toMatchObject({ name: vmName(lease), lease_hash: twin, other_lease_hash: lease });
      expect(await codeOf(m.exec(twin, 'true'))).toBe('VM_NOT_FOUND');
      expect(await codeOf(m.dialSsh(twin))).toBe('VM_NOT_FOUND');
      expect(await m.get(twin)).toBeUndefined();
      expect(await m.details(twin)).toBeUndefined();
      await m.teardown(twin); // not its VM: a no-op
      expect((await m.get(lease))?.status).toBe('running');
      expect((await m.exec(lease, 'echo still-here')).stdout).toBe('still-here\n');
    }, T);

    it('dialSsh gives a stream to the VM sshd', async () => {
      const s = await m.dialSsh(lease);
      const data = await new Promise<Buffer>((resolve, reject) => {
        s.once('data', resolve);
        s.once('error', reject);
      });
      s.destroy();
      expect(data.toString('latin1')).toMatch(/^SSH-2\.0-/);
    }, T);

    it('exec returns exit code, stdout and stderr faithfully', async () => {
      expect(await m.exec(lease, 'echo out; echo err >&2; printf "no newline"; exit 7')).toEqual({ exit_code: 7, stdout: 'out\nno newline', stderr: 'err\n' });
      expect(await m.exec(lease, 'echo only-err >&2')).toEqual({ exit_code: 0, stdout: '', stderr: 'only-err\n' });
    }, T);

    it('exec runs inside the VM: same hostname and file system as ssh', async () => {
      const r = await m.exec(lease, 'hostname; echo "$(id -u)" > /root/xe-exec-mark; cat /root/xe-exec-mark');
      expect(r.exit_code).toBe(0);
      expect(r.stdout).toBe(`${vmName(lease)}\n${(await m.exec(lease, 'id -u')).stdout}`);
      const s = await sshVm(m, lease, key.keyFile, 'cat /root/xe-exec-mark');
      expect(s.stdout).toBe(`${r.stdout.split('\n')[1]}\n`);
    }, T);

    it('exec cuts 5 MB of output at 1 MiB per stream and marks it', async () => {
      const r = await m.exec(lease, 'head -c 5000000 /dev/zero | tr "\\0" a; head -c 5000000 /dev/zero | tr "\\0" b >&2');
      expect(r.exit_code).toBe(0);
      expect(r.stdout.length).toBe(EXEC_OUTPUT_CAP_BYTES);
      expect(r.stderr.length).toBe(EXEC_OUTPUT_CAP_BYTES);
      expect(r.stdout).toBe('a'.repeat(EXEC_OUTPUT_CAP_BYTES));
      expect(r.stderr).toBe('b'.repeat(EXEC_OUTPUT_CAP_BYTES));
      expect(r.stdout_truncated).toBe(true);
      expect(r.stderr_truncated).toBe(true);
      expect((await m.exec(lease, 'echo fine')).stdout_truncated).toBeUndefined();
    }, T);

    it('exec kills a command at its timeout, children included; the next exec runs', async () => {
      // Several rounds: a session cut while its command ran could make the guest's sshd drop
      // the session opened right after it (exit 255, no output) on some rounds. Each round
      // leaves 2 s for the session to open and print (1 s was too short on a loaded host).
      for (const timeoutMs of [3000, 2000, 2000, 2000]) {
        const started = Date.now();
        const r = await m.exec(lease, 'sleep 30 & echo $! > /tmp/xe-bg.pid; echo started; wait', { timeoutMs });
        expect(r.timed_out).toBe(true);
        expect(r.stdout).toBe('started\n');
        expect(Date.now() - started).toBeLessThan(timeoutMs + 7000);
        const check = await m.exec(lease, 'if kill -0 "$(cat /tmp/xe-bg.pid)" 2>/dev/null; then echo alive; else echo gone; fi');
        expect(check).toMatchObject({ exit_code: 0, stdout: 'gone\n' });
      }
    }, T);

    const iso = harness.isolation;
    if (iso) {
      describe('from inside the leased VM', () => {
        let api: Server;
        let apiPort = 0;
        let accepted = 0;
        beforeAll(async () => {
          // Stands in for the node's HTTP API: a listener on every host address.
          api = createServer((s) => {
            accepted++;
            s.destroy();
          });
          await new Promise<void>((resolve) => api.listen(0, '0.0.0.0', resolve));
          apiPort = (api.address() as { port: number }).port;
        });
        afterAll(async () => {
          await new Promise((resolve) => api.close(resolve));
        });

        it('no TCP connection reaches the host: not 127.0.0.1, not its own addresses (nor the user-mode gateway)', async () => {
          const own = Object.values(networkInterfaces())
            .flat()
            .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
            .map((a) => a!.address);
          // Control: the probe works where something listens.
          if (iso.probeControl) {
            expect((await m.exec(lease, iso.tcpProbe(iso.probeControl.host, iso.probeControl.port))).exit_code).toBe(0);
          } else {
            const c = await runCapped('/bin/sh', ['-c', iso.tcpProbe('127.0.0.1', apiPort)], { timeoutMs: 10_000 });
            expect(c.exit_code).toBe(0);
          }
          for (const host of ['127.0.0.1', ...own]) expect(await hostConnects(host, apiPort)).toBe(true);
          accepted = 0;
          for (const host of ['127.0.0.1', ...own, ...(iso.extraHosts ?? [])]) {
            const r = await m.exec(lease, iso.tcpProbe(host, apiPort), { timeoutMs: 20_000 });
            expect({ host, exit_code: r.exit_code === 0 ? 0 : 'failed' }).toEqual({ host, exit_code: 'failed' });
          }
          expect(accepted).toBe(0);
        }, T);

        it('writing past disk_gb fails with ENOSPC', async () => {
          const mb = RES.disk_gb * 1024 + 64;
          const r = await m.exec(lease, `dd if=/dev/zero of=/root/fill bs=1M count=${mb} 2>&1; rm -f /root/fill; sync`, { timeoutMs: T });
          expect(r.stdout).toMatch(/No space left on device/);
          expect((await m.exec(lease, 'echo alive')).stdout).toBe('alive\n');
        }, T);

        it('allocating well past memory_mb fails; the VM survives', async () => {
          const r = await m.exec(lease, `dd if=/dev/zero of=/dev/null bs=${RES.memory_mb * 3}M count=1`, { timeoutMs: T });
          expect(r.exit_code).not.toBe(0);
          expect((await m.exec(lease, 'echo alive')).stdout).toBe('alive\n');
        }, T);

        it('a fork flood stops at the process limit; the VM survives', async () => {
          // The flood runs in a subshell; once a fork fails, the outer shell kills every
          // sleep it started using builtins only (no fork is possible at that point).
          const flood =
            'rm -f /tmp/xe-pids; (i=0; while [ $i -lt 100000 ]; do sleep 120 & echo $! >> /tmp/xe-pids; i=$((i+1)); echo $i > /tmp/xe-forks; done); ' +
            'echo "subshell $?"; while read p; do kill -9 $p; done < /tmp/xe-pids; read n < /tmp/xe-forks; echo "forks $n"';
          const r = await m.exec(lease, flood, { timeoutMs: T });
          expect(r.stdout).toMatch(/^subshell [1-9]\d*\nforks \d+\n$/);
          const n = Number(/forks (\d+)/.exec(r.stdout)![1]);
          expect(n).toBeGreaterThan(20);
          expect(n).toBeLessThanOrEqual(iso.pidsMax);
          expect((await m.exec(lease, 'echo alive')).stdout).toBe('alive\n');
        }, T);

        it('nproc equals the leased vCPUs', async () => {
          expect((await m.exec(lease, 'nproc')).stdout.trim()).toBe(String(RES.vcpus));
        }, T);
      });
    }

    it('rejects bad input with coded errors', async () => {
      const l = randomLeaseHash();
      expect(await codeOf(m.provision(l, RES, 'abcd'))).toBe('INVALID_ACCESS_KEY');
      expect(await codeOf(m.provision(l, RES, key.pubHex.toUpperCase()))).toBe('INVALID_ACCESS_KEY');
      expect(await codeOf(m.provision(l, RES, `${'a'.repeat(56)}';id;#'`))).toBe('INVALID_ACCESS_KEY');
      expect(await codeOf(m.provision(l, RES, `${'a'.repeat(59)}$(id)`))).toBe('INVALID_ACCESS_KEY');
      expect(await codeOf(m.provision(l, { vcpus: 0, memory_mb: 0, disk_gb: 0 }, key.pubHex))).toBe('INVALID_RESOURCES');
      expect(await codeOf(m.provision(l, { vcpus: -1, memory_mb: 1, disk_gb: 1 }, key.pubHex))).toBe('INVALID_RESOURCES');
      expect(await codeOf(m.provision('xyz', RES, key.pubHex))).toBe('INVALID_LEASE_HASH');
      expect(await codeOf(m.provision(lease, RES, key.pubHex))).toBe('VM_EXISTS');
      // Two concurrent provisions of one lease: exactly one wins.
      const twice = await Promise.allSettled([m.provision(l, RES, key.pubHex), m.provision(l, RES, key.pubHex)]);
      expect(twice.filter((s) => s.status === 'fulfilled').length).toBe(1);
      const lost = twice.find((s) => s.status === 'rejected') as PromiseRejectedResult;
      expect((lost.reason as { code?: string }).code).toBe('VM_EXISTS');
      await m.teardown(l);
      expect(await codeOf(m.exec(l, 'true'))).toBe('VM_NOT_FOUND');
      expect(await codeOf(m.dialSsh(l))).toBe('VM_NOT_FOUND');
      expect(await m.get(l)).toBeUndefined();
      expect(processesMentioning(vmName(l))).toEqual([]);
      await m.teardown(l); // unknown lease: a no-op
    }, T);

    it('teardown leaves no process, port or file behind, and is idempotent', async () => {
      const l = randomLeaseHash();
      await m.provision(l, RES, key.pubHex);
      const d = await m.details(l);
      expect(d?.pids.length).toBeGreaterThan(0);
      for (const pid of d!.pids) expect(isProcessAlive(pid)).toBe(true);
      expect(filesMentioning(dataDir, vmName(l)).length).toBeGreaterThan(0);
      await m.teardown(l);
      await expectGone(d!.pids, d!.ssh_port);
      expect(processesMentioning(vmName(l))).toEqual([]);
      expect(filesMentioning(dataDir, vmName(l))).toEqual([]);
      expect(await m.get(l)).toBeUndefined();
      await m.teardown(l);
    }, T);

    it('an aborted provision tears down whatever it started', async () => {
      const pre = randomLeaseHash();
      expect(await codeOf(m.provision(pre, RES, key.pubHex, { signal: AbortSignal.abort() }))).toBe('ABORTED');
      expect(await m.get(pre)).toBeUndefined();
      const l = randomLeaseHash();
      const ac = new AbortController();
      const p = m.provision(l, RES, key.pubHex, { signal: ac.signal });
      // Abort mid-way: as soon as the VM's record is being written (a provision records the VM
      // before it starts anything: a pooled sandbox is adopted within tens of ms, too fast for a
      // poll) or a process of this VM exists.
      const started = Date.now();
      mkdirSync(join(dataDir, 'vms'), { recursive: true });
      const watcher = watch(join(dataDir, 'vms'), (_event, file) => {
        if (typeof file === 'string' && file.includes(vmName(l))) ac.abort();
      });
      const poll = setInterval(() => {
        if (processesMentioning(vmName(l)).length > 0 || Date.now() - started > 5000) ac.abort();
      }, 5);
      try {
        expect(await codeOf(p)).toBe('ABORTED');
      } finally {
        clearInterval(poll);
        watcher.close();
      }
      expect(await m.get(l)).toBeUndefined();
      expect(processesMentioning(vmName(l))).toEqual([]);
      expect(filesMentioning(dataDir, vmName(l))).toEqual([]);
    }, T);

    it('reconcile after a restart adopts the VM of an active lease and tears down the other', async () => {
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
      expect(before?.pids.length).toBeGreaterThan(0);
      const result = await fresh.reconcile((h) => h === keep);
      expect(result).toEqual({ adopted: [keep], removed: [drop], lost: [] });
      const d = await fresh.details(keep);
      expect(d?.status).toBe('running');
      expect((await sshVm(fresh, keep, key.keyFile, 'hostname')).stdout.trim()).toBe(vmName(keep));
      expect((await fresh.exec(keep, 'echo adopted')).stdout).toBe('adopted\n');
      await expectGone(before!.pids, before!.ssh_port);
      expect(await fresh.get(drop)).toBeUndefined();
      // Reconciling again is stable; then the lease ends.
      expect(await fresh.reconcile(() => true)).toEqual({ adopted: [keep], removed: [], lost: [] });
      await fresh.teardown(keep);
      await expectGone(d!.pids, d!.ssh_port);
    }, T * 2);
  });
}
