import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SandboxVmManager, vmName } from '../../src/index.js';
import { isProcessAlive } from '../../src/proc.js';
import { KEYS, makeLeaseKey, makeTempDir, processesMentioning, randomLeaseHash, removeDir, sshVm } from '../support/helpers.js';

const RES = { vcpus: 1, memory_mb: 256, disk_gb: 1 };

/** The sandboxes the pools under `poolRoot` have started (each entry's sandbox.json). */
function pooledSandboxes(poolRoot: string): { pid: number; initPid: number }[] {
  const out: { pid: number; initPid: number }[] = [];
  for (const tag of readdirSync(poolRoot)) {
    for (const entry of readdirSync(join(poolRoot, tag))) {
      const file = join(poolRoot, tag, entry, 'sandbox.json');
      if (existsSync(file)) out.push(JSON.parse(readFileSync(file, 'utf8')));
    }
  }
  return out;
}

async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Mount points under `dir` (per /proc/self/mountinfo). */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(`${dir}/`));
}

describe('SandboxVmManager specifics', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await makeTempDir('xe-sbx-');
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it('missing bubblewrap or sshd is SANDBOX_DEPS_MISSING naming the install script', () => {
    expect(() => new SandboxVmManager({ dataDir: dir, searchPath: '/nonexistent' }, KEYS)).toThrow(
      expect.objectContaining({ code: 'SANDBOX_DEPS_MISSING', details: { missing: 'bwrap' }, message: expect.stringMatching(/install-sandbox-deps\.sh/) }),
    );
    expect(() => new SandboxVmManager({ dataDir: dir, sshdPath: '/nonexistent/sshd' }, KEYS)).toThrow(
      expect.objectContaining({ code: 'SANDBOX_DEPS_MISSING', details: { missing: 'sshd' }, message: expect.stringMatching(/install-sandbox-deps\.sh/) }),
    );
  });

  it('a limit that cannot be enforced fails the provision with LIMITS_NOT_ENFORCED, unless accepted; then the VM info says which', async () => {
    // A cgroup root with no controllers: nothing can be limited there.
    const cgroupRoot = join(dir, 'no-cgroups');
    const key = await makeLeaseKey(dir, 'k0');
    const strict = new SandboxVmManager({ dataDir: join(dir, 'd0'), cgroupRoot }, KEYS);
    const lease = randomLeaseHash();
    await expect(strict.provision(lease, RES, key.pubHex)).rejects.toMatchObject({
      code: 'LIMITS_NOT_ENFORCED',
      details: { not_enforced: ['memory', 'pids', 'cpu', 'cpuset'] },
    });
    expect(await strict.get(lease)).toBeUndefined();
    expect(processesMentioning(vmName(lease))).toEqual([]);
    const lax = new SandboxVmManager({ dataDir: join(dir, 'd0'), cgroupRoot, acceptUnenforcedLimits: true }, KEYS);
    const vm = await lax.provision(lease, RES, key.pubHex);
    try {
      expect(vm.limits_not_enforced).toEqual(['memory', 'pids', 'cpu', 'cpuset']);
      expect((await lax.get(lease))?.limits_not_enforced).toEqual(['memory', 'pids', 'cpu', 'cpuset']);
      expect((await lax.details(lease))?.limits.reason).toMatch(/memory NOT ENFORCED/);
    } finally {
      await lax.teardown(lease);
    }
  });

  it('a VM with every limit enforced reports none missing, and its own host key fingerprint', async () => {
    const m = new SandboxVmManager({ dataDir: join(dir, 'd3') }, KEYS);
    const key = await makeLeaseKey(dir, 'k3');
    const a = randomLeaseHash();
    const b = randomLeaseHash();
    const va = await m.provision(a, RES, key.pubHex);
    const vb = await m.provision(b, { vcpus: 0, memory_mb: 0, disk_gb: 1 }, key.pubHex);
    try {
      expect(va.limits_not_enforced).toBeUndefined();
      expect(va.host_key_fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
      expect(vb.host_key_fingerprint).not.toBe(va.host_key_fingerprint);
      // A zero lease gets the stated minimum: 1 vCPU, 128 MiB.
      expect((await m.exec(b, 'nproc')).stdout).toBe('1\n');
      expect((await m.details(b))?.limits.reason).toMatch(/memory: cgroup v\d memory\.(limit_in_bytes|max) 128 MiB/);
      // The fingerprint is the one the real ssh client sees.
      const seen = await sshVm(m, a, key.keyFile, 'true');
      expect(seen.exit_code).toBe(0);
    } finally {
      await m.teardown(a);
      await m.teardown(b);
    }
  });

  it('a VM whose sandbox died is "stopped", then lost on reconcile, and can be provisioned again', async () => {
    const m = new SandboxVmManager({ dataDir: join(dir, 'd1') }, KEYS);
    const key = await makeLeaseKey(dir, 'k1');
    const lease = randomLeaseHash();
    await m.provision(lease, RES, key.pubHex);
    const d = await m.details(lease);
    expect(d?.ssh_port).toBeUndefined();
    // The VM's processes vanish behind the provider's back (e.g. a host reboot).
    for (const pid of d!.pids) process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 5000;
    while (d!.pids.some(isProcessAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect((await m.get(lease))?.status).toBe('stopped');
    await expect(m.exec(lease, 'true')).rejects.toMatchObject({ code: 'VM_NOT_RUNNING' });
    const result = await new SandboxVmManager({ dataDir: join(dir, 'd1') }, KEYS).reconcile(() => true);
    expect(result).toEqual({ adopted: [], removed: [], lost: [lease] });
    expect(await m.get(lease)).toBeUndefined();
    expect(processesMentioning(vmName(lease))).toEqual([]);
    await m.provision(lease, RES, key.pubHex);
    expect((await sshVm(m, lease, key.keyFile, 'echo back')).stdout).toBe('back\n');
    await m.teardown(lease);
  });

  it('root in the sandbox cannot make device nodes or mount, and no process inside holds a capability the tenant lacks', async () => {
    const m = new SandboxVmManager({ dataDir: join(dir, 'd4') }, KEYS);
    const key = await makeLeaseKey(dir, 'k4');
    const lease = randomLeaseHash();
    await m.provision(lease, RES, key.pubHex);
    try {
      const probe = 'mknod /root/disk b 8 0 2>/dev/null && echo mknod; mkdir -p /root/m; mount -t tmpfs t /root/m 2>/dev/null && echo mount; echo done';
      expect(await m.exec(lease, probe)).toEqual({ exit_code: 0, stdout: 'done\n', stderr: '' });
      expect((await sshVm(m, lease, key.keyFile, probe)).stdout).toBe('done\n');
      // Every process of the VM (init, sshd, shells) has the same bounding set as the tenant.
      const caps = await m.exec(lease, 'grep -h CapBnd /proc/[0-9]*/status | sort -u');
      expect(caps.stdout.trim().split('\n')).toHaveLength(1);
      expect((await m.exec(lease, 'grep CapEff /proc/self/status')).stdout).toMatch(/CapEff:\s+00000000a00425fb/);
      // PID 1 reaps orphans and ignores the tenant's signals.
      await m.exec(lease, 'sh -c "sleep 0.2 &"; kill -9 1');
      await new Promise((r) => setTimeout(r, 600));
      expect((await m.exec(lease, 'grep -l "State:.*Z" /proc/[0-9]*/status; echo ok')).stdout).toBe('ok\n');
      expect((await m.get(lease))?.status).toBe('running');
    } finally {
      await m.teardown(lease);
    }
  });

  it('two VMs are isolated from each other: own hostname, files, PID namespace and network', async () => {
    const m = new SandboxVmManager({ dataDir: join(dir, 'd2') }, KEYS);
    const key = await makeLeaseKey(dir, 'k2');
    const a = randomLeaseHash();
    const b = randomLeaseHash();
    await m.provision(a, RES, key.pubHex);
    await m.provision(b, RES, key.pubHex);
    try {
      await m.exec(a, 'echo secret > /root/a.txt');
      expect((await m.exec(b, 'cat /root/a.txt')).exit_code).toBe(1);
      expect((await m.exec(b, 'hostname')).stdout).toBe(`${vmName(b)}\n`);
      // Only the VM's own processes are visible: its init (1), sleep, and this shell.
      const ps = await m.exec(a, 'ls /proc | grep -c "^[0-9]"');
      expect(Number(ps.stdout.trim())).toBeLessThan(10);
      // Only lo in the VM's network namespace.
      expect((await m.exec(a, "grep -o '^ *[a-z0-9]*:' /proc/net/dev | tr -d ' :'")).stdout).toBe('lo\n');
      // The root file system is the lease's own disk.
      expect((await m.exec(a, 'df -P /')).stdout).toMatch(/\n\/dev\/loop\d+ /);
    } finally {
      await m.teardown(a);
      await m.teardown(b);
    }
  });

  it("a pool of ready disks with their sandboxes started: each goes to one lease only (its own host key, moved into the lease's cgroups, the lease's host name), the pool refills, close stops and removes it; a killed provider's pool is removed by the next reconcile", async () => {
    const data = join(dir, 'd5');
    const poolRoot = join(data, 'sandbox', '.pool');
    const m = new SandboxVmManager({ dataDir: data, poolSize: 2 }, KEYS);
    const key = await makeLeaseKey(dir, 'k5');
    await m.warmPool();
    expect(m.pool?.count(1)).toBe(2);
    expect(mountsUnder(data)).toHaveLength(2);
    // each ready disk has its sandbox running, named in the entry's sandbox.json
    const started = pooledSandboxes(poolRoot);
    expect(started).toHaveLength(2);
    for (const s of started) expect(isProcessAlive(s.pid) && isProcessAlive(s.initPid)).toBe(true);
    const a = randomLeaseHash();
    const b = randomLeaseHash();
    const va = await m.provision(a, RES, key.pubHex);
    const vb = await m.provision(b, RES, key.pubHex);
    try {
      expect((await m.details(a))?.limits.reason).toMatch(/loop-mounted \(prepared ahead\)/);
      expect((await m.details(b))?.limits.reason).toMatch(/loop-mounted \(prepared ahead\)/);
      // the VMs are the sandboxes the pool started, now in their leases' cgroups (one per v1 controller, or the v2 group)
      const pa = (await m.details(a))!.pids;
      const pb = (await m.details(b))!.pids;
      expect([pa[0], pb[0]].sort()).toEqual(started.map((s) => s.pid).sort());
      for (const [lease, pids] of [[a, pa], [b, pb]] as const) {
        for (const cg of (await m.details(lease))!.limits.cgroups ?? []) {
          const procs = readFileSync(join(cg, 'cgroup.procs'), 'utf8').split('\n').map(Number);
          expect(procs).toEqual(expect.arrayContaining(pids));
        }
      }
      expect(va.host_public_key).toMatch(/^ssh-ed25519 /);
      expect(vb.host_public_key).not.toBe(va.host_public_key);
      // The VM's disk is its own, mounted where the VM's record says, fresh (nothing but the layout and the lease's files).
      expect(mountsUnder(data)).toEqual(expect.arrayContaining([join(data, 'sandbox', vmName(a), 'root'), join(data, 'sandbox', vmName(b), 'root')]));
      const ls = await m.exec(a, 'for d in /root /root/.ssh /tmp /home; do echo "$d:" $(ls -A $d); done');
      expect(ls.stdout).toBe('/root: .ssh\n/root/.ssh: authorized_keys\n/tmp:\n/home:\n');
      expect((await sshVm(m, a, key.keyFile, 'hostname')).stdout).toBe(`${vmName(a)}\n`);
      // Refilled in the background after each provision.
      await m.warmPool();
      expect(m.pool?.count(1)).toBe(2);
      expect(mountsUnder(data)).toHaveLength(4);
    } finally {
      await m.teardown(a);
      await m.teardown(b);
    }
    expect(mountsUnder(data)).toHaveLength(2);
    const refilled = pooledSandboxes(poolRoot);
    expect(refilled).toHaveLength(2);
    await m.close();
    expect(mountsUnder(data)).toEqual([]);
    expect(readdirSync(poolRoot)).toEqual([]);
    for (const s of refilled) expect(isProcessAlive(s.pid) || isProcessAlive(s.initPid)).toBe(false);
    // A provider killed (SIGKILL) after a lease took one of its pooled sandboxes, the other
    // still in the pool, leaves mounted disks and running sandboxes behind…
    const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
    const kept = randomLeaseHash();
    const script = `const { createVmManager } = await import(${JSON.stringify(dist)});
      const m = createVmManager({ backend: 'sandbox', dataDir: ${JSON.stringify(data)}, poolSize: 2 }, { authorizedKeyLine: () => ${JSON.stringify(key.line)} });
      await m.warmPool();
      await m.provision(${JSON.stringify(kept)}, ${JSON.stringify(RES)}, ${JSON.stringify(key.pubHex)});
      process.kill(process.pid, 'SIGKILL');`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000 });
    expect(child.signal).toBe('SIGKILL');
    const left = pooledSandboxes(poolRoot);
    expect(left).toHaveLength(1);
    expect(isProcessAlive(left[0]!.pid)).toBe(true);
    // as if the provider had died between starting that sandbox and writing its sandbox.json:
    // the sweep finds it by its bound root all the same
    for (const tag of readdirSync(poolRoot)) for (const e of readdirSync(join(poolRoot, tag))) rmSync(join(poolRoot, tag, e, 'sandbox.json'), { force: true });
    expect(pooledSandboxes(poolRoot)).toEqual([]);
    const keptPid = (await m.details(kept))!.pids[0]!;
    // …which the next start (reconcile) over the data directory removes, keeping the VM of
    // the active lease: its sandbox still names the pool path it was started with
    const next = new SandboxVmManager({ dataDir: data }, KEYS);
    expect(await next.reconcile((h) => h === kept)).toEqual({ adopted: [kept], removed: [], lost: [] });
    expect(isProcessAlive(left[0]!.pid) || isProcessAlive(left[0]!.initPid)).toBe(false);
    expect(readdirSync(poolRoot)).toEqual([]);
    expect(isProcessAlive(keptPid)).toBe(true);
    expect((await sshVm(next, kept, key.keyFile, 'hostname')).stdout).toBe(`${vmName(kept)}\n`);
    await next.teardown(kept);
    expect(isProcessAlive(keptPid)).toBe(false);
    expect(mountsUnder(data)).toEqual([]);
  }, 60_000);

  it('a provision that finds the pool empty while its refill is paused or under way waits for that sandbox instead of making its own', async () => {
    const data = join(dir, 'd7');
    const m = new SandboxVmManager({ dataDir: data, poolSize: 1 }, KEYS);
    const key = await makeLeaseKey(dir, 'k7');
    await m.warmPool();
    const a = randomLeaseHash();
    const b = randomLeaseHash();
    await m.provision(a, RES, key.pubHex);
    // the pool is empty now, its refill paused for REFILL_DELAY_MS after that provision
    expect(m.pool?.count(1)).toBe(0);
    await m.provision(b, RES, key.pubHex);
    try {
      expect((await m.details(b))?.limits.reason).toMatch(/loop-mounted \(prepared ahead\)/);
      expect((await sshVm(m, b, key.keyFile, 'hostname')).stdout).toBe(`${vmName(b)}\n`);
    } finally {
      await m.teardown(a);
      await m.teardown(b);
      await m.close();
    }
    expect(mountsUnder(data)).toEqual([]);
  }, 60_000);

  it('a pooled sandbox that died in the pool: the lease gets a sandbox started on its disk, and works', async () => {
    const data = join(dir, 'd6');
    const poolRoot = join(data, 'sandbox', '.pool');
    const m = new SandboxVmManager({ dataDir: data, poolSize: 1 }, KEYS);
    const key = await makeLeaseKey(dir, 'k6');
    await m.warmPool();
    const [dead] = pooledSandboxes(poolRoot);
    process.kill(-dead!.pid, 'SIGKILL');
    await waitUntil(() => !isProcessAlive(dead!.pid) && !isProcessAlive(dead!.initPid));
    const lease = randomLeaseHash();
    await m.provision(lease, RES, key.pubHex);
    try {
      const details = (await m.details(lease))!;
      expect(details.status).toBe('running');
      expect(details.pids[0]).not.toBe(dead!.pid);
      expect(details.limits.reason).toMatch(/loop-mounted \(prepared ahead\)/);
      expect((await sshVm(m, lease, key.keyFile, 'hostname')).stdout).toBe(`${vmName(lease)}\n`);
    } finally {
      await m.teardown(lease);
      await m.close();
    }
    expect(mountsUnder(data)).toEqual([]);
  }, 60_000);
});
