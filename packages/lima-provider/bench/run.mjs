// Sealed sandbox figures: provision → sshd -i banner, and exec round trip. One JSON line per figure.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SandboxVmManager } from '../dist/index.js';

const PROVISIONS = 5;
const EXECS = 10;

function p50(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

const dir = await mkdtemp(join(tmpdir(), 'xe-bench-'));
const m = new SandboxVmManager({ dataDir: join(dir, 'data') });
const pub = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
const res = { vcpus: 1, memory_mb: 512, disk_gb: 1 };
try {
  const prov = [];
  // The first provision of a size makes its ext4 template (mkfs once); not counted.
  let lease = randomBytes(32).toString('hex');
  await m.provision(lease, res, pub);
  for (let i = 0; i < PROVISIONS; i++) {
    if (lease) await m.teardown(lease);
    lease = randomBytes(32).toString('hex');
    const t0 = performance.now();
    await m.provision(lease, res, pub); // resolves once the SSH banner is read
    prov.push(performance.now() - t0);
  }
  const execs = [];
  for (let i = 0; i < EXECS; i++) {
    const t0 = performance.now();
    const r = await m.exec(lease, 'true');
    execs.push(performance.now() - t0);
    if (r.exit_code !== 0) throw new Error(`exec failed: ${JSON.stringify(r)}`);
  }
  await m.teardown(lease);
  const round = (x) => Math.round(x * 10) / 10;
  console.log(JSON.stringify({ bench: 'sandbox_provision_ms_p50', value: round(p50(prov)), unit: 'ms', samples: PROVISIONS, ready: 'sshd -i banner', sealed: true }));
  console.log(JSON.stringify({ bench: 'sandbox_exec_ms_p50', value: round(p50(execs)), unit: 'ms', samples: EXECS, command: 'true' }));
} finally {
  for (const vm of await m.list()) await m.teardown(vm.lease_hash);
  await rm(dir, { recursive: true, force: true });
}
