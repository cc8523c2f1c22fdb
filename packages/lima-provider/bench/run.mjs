// VM backend figures, one JSON line each: the sealed sandbox's provision with a pool of 2
// ready sandboxes (refilled between leases, as a provider keeps it; their sshd -i answered
// when the pool started them) and without one (→ the VM's sshd -i banner), each with the median time at which each phase was done, and its exec round trip; then, when QEMU and its guest image are installed, the same for a
// QEMU VM (with the accelerator the probe chose).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QemuVmManager, SandboxVmManager } from '../dist/index.js';

function p50(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}
const round = (x) => Math.round(x * 10) / 10;
const res = { vcpus: 1, memory_mb: 512, disk_gb: 1 };

/** A logger that keeps the `phases_ms` of each 'vm provisioned' line (when each provision phase was done). */
function phaseLogger(into) {
  const noop = () => {};
  const log = {
    debug: noop,
    info: (msg, fields) => {
      if (msg === 'vm provisioned' && fields?.phases_ms) into.push(fields.phases_ms);
    },
    warn: noop,
    error: noop,
    child: () => log,
  };
  return log;
}

/** The median of each phase over the counted provisions. */
function phaseMedians(all) {
  const out = {};
  for (const k of Object.keys(all[0] ?? {})) out[k] = round(p50(all.map((p) => p[k]).filter((v) => v !== undefined)));
  return out;
}

/** Provisions `provisions` times (after one uncounted warm-up), then times `execs` execs of `true`. */
async function measure(m, provisions, execs) {
  const prov = [];
  // The first provision of a size makes its ext4 template (mkfs once, and for QEMU the accelerator probe); not counted.
  let lease = randomBytes(32).toString('hex');
  await m.provision(lease, res, pub);
  for (let i = 0; i < provisions; i++) {
    await m.teardown(lease);
    // A provider keeps its pool of ready disks full between leases; the timed provision starts with it full.
    if (m.warmPool) await m.warmPool(res.disk_gb);
    lease = randomBytes(32).toString('hex');
    const t0 = performance.now();
    await m.provision(lease, res, pub); // resolves once the VM's sshd answers with its banner
    prov.push(performance.now() - t0);
  }
  const times = [];
  for (let i = 0; i < execs; i++) {
    const t0 = performance.now();
    const r = await m.exec(lease, 'true');
    times.push(performance.now() - t0);
    if (r.exit_code !== 0) throw new Error(`exec failed: ${JSON.stringify(r)}`);
  }
  await m.teardown(lease);
  return { prov, times };
}

// `node bench/run.mjs sandbox` measures only the sandbox (default: every backend installed here).
const only = process.argv[2];
const dir = await mkdtemp(join(tmpdir(), 'xe-bench-'));
// The lease key, made by ssh-keygen; its raw public key is the blob's last 32 bytes.
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'xe-lease', '-f', join(dir, 'lease')]);
const line = (await readFile(join(dir, 'lease.pub'), 'utf8')).trim();
const pub = Buffer.from(line.split(' ')[1], 'base64').subarray(-32).toString('hex');
const keys = { authorizedKeyLine: () => line };
try {
  // The figure: a provider with a pool of 2 ready disks (poolSize), as `xe-node start` runs it.
  for (const [bench, poolSize] of [
    ['sandbox_provision_ms_p50', 2],
    ['sandbox_provision_nopool_ms_p50', 0],
  ]) {
    const phases = [];
    const sandbox = new SandboxVmManager({ dataDir: join(dir, `sandbox-${poolSize}`), poolSize }, { ...keys, logger: phaseLogger(phases) });
    try {
      const { prov, times } = await measure(sandbox, 7, 10);
      console.log(JSON.stringify({ bench, value: round(p50(prov)), unit: 'ms', samples: prov.length, ready: poolSize > 0 ? 'adopted a pooled sandbox (its sshd -i banner read when the pool started it)' : 'sshd -i banner', sealed: true, pool: poolSize }));
      // When each phase was done (ms since provision was called), median over the counted provisions.
      console.log(JSON.stringify({ bench: bench.replace('_ms_p50', '_phases_ms_p50'), unit: 'ms since the call', phases: phaseMedians(phases.slice(1)) }));
      if (poolSize > 0) console.log(JSON.stringify({ bench: 'sandbox_exec_ms_p50', value: round(p50(times)), unit: 'ms', samples: times.length, command: 'true' }));
    } finally {
      for (const vm of await sandbox.list()) await sandbox.teardown(vm.lease_hash);
      await sandbox.close();
    }
  }

  let qemu;
  try {
    if (only !== 'sandbox') qemu = new QemuVmManager({ dataDir: join(dir, 'qemu') }, keys);
  } catch (err) {
    console.log(JSON.stringify({ bench: 'qemu_provision_ms_p50', skipped: `${err.code}: ${err.message}` }));
  }
  if (qemu) {
    try {
      const { prov, times } = await measure(qemu, 3, 10);
      const accelerator = await qemu.accelerator();
      console.log(JSON.stringify({ bench: 'qemu_provision_ms_p50', value: round(p50(prov)), unit: 'ms', samples: prov.length, accelerator, ready: 'ssh banner on the forwarded port' }));
      console.log(JSON.stringify({ bench: 'qemu_exec_ms_p50', value: round(p50(times)), unit: 'ms', samples: times.length, accelerator, command: 'true' }));
    } finally {
      for (const vm of await qemu.list()) await qemu.teardown(vm.lease_hash);
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
