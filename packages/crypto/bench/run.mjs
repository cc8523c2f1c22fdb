// Benchmarks of @xe/crypto (compiled dist): one JSON line per figure. Run with `pnpm bench`.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import {
  ed25519Accelerator,
  hashBlock,
  keyPairFromSeed,
  nodeEd25519,
  PowEngine,
  PowSolver,
  signHex,
  tweetnaclEd25519,
  verifyOpenssl,
} from '../dist/index.js';

const blake3 = createRequire(import.meta.url)('blake3-wasm');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2.5);
const results = {};

function emit(bench, value, unit, extra = {}) {
  results[bench] = value;
  console.log(JSON.stringify({ bench, value: Math.round(value * 100) / 100, unit, ...extra }));
}

/** Runs `step(n)` (which does n operations) repeatedly for ~SECONDS after a warm-up; ops/s. */
function measure(step, batch) {
  const warmEnd = performance.now() + 300;
  while (performance.now() < warmEnd) step(batch);
  let ops = 0;
  const start = performance.now();
  const end = start + SECONDS * 1000;
  while (performance.now() < end) {
    step(batch);
    ops += batch;
  }
  return (ops / (performance.now() - start)) * 1000;
}

const hash = new Uint8Array(randomBytes(32));
const IMPOSSIBLE = [0xffffffff, 0xffffffff];

// PoW kernel, one core
const kernel = new PowEngine();
kernel.setHash(hash);
let lo = 0;
let hi = 0;
const kernelHps = measure((n) => {
  [, lo, hi] = kernel.search(lo, hi, 1, n, ...IMPOSSIBLE);
}, 65536);
emit('pow_kernel_hps_1core', kernelHps, 'hashes/s', { engine: kernel.engine });

// the JS fallback kernel (used where WebAssembly is unavailable), same input
const jsKernel = new PowEngine({ wasm: false });
jsKernel.setHash(hash);
lo = 0;
hi = 0;
const jsKernelHps = measure((n) => {
  [, lo, hi] = jsKernel.search(lo, hi, 1, n, ...IMPOSSIBLE);
}, 65536);
emit('pow_kernel_js_hps_1core', jsKernelHps, 'hashes/s', { kernel_vs_js: Math.round((kernelHps / jsKernelHps) * 100) / 100 });

// blake3-wasm's public hash() over the same 40-byte input, nonce bytes rewritten each time
const input = Buffer.alloc(40);
input.set(hash, 8);
let sink = 0;
let nonce = 0;
const wasmHps = measure((n) => {
  for (let i = 0; i < n; i++) {
    input.writeUInt32LE(nonce++ >>> 0, 0);
    sink ^= blake3.hash(input)[0];
  }
}, 4096);
emit('pow_blake3wasm_hps_1core', wasmHps, 'hashes/s', { sink });
emit('pow_kernel_vs_blake3wasm', kernelHps / wasmHps, 'ratio');

// PoW on all cores: a solver with availableParallelism() workers on an impossible difficulty
const workers = availableParallelism();
const solver = new PowSolver({ workers });
const progress = [];
const ac = new AbortController();
const solving = solver
  .solve(Buffer.from(hash).toString('hex'), 0xffffffffffffffffn, { signal: ac.signal, progressIntervalMs: 250, onProgress: (p) => progress.push(p) })
  .catch((e) => e);
await new Promise((r) => setTimeout(r, 500 + SECONDS * 1000));
ac.abort();
const aborted = await solving;
await solver.close();
// rate between the first report after warm-up and the last one
const first = progress.find((p) => p.elapsedMs >= 500) ?? progress[0];
const last = progress[progress.length - 1];
const allHps = ((last.hashes - first.hashes) / (last.elapsedMs - first.elapsedMs)) * 1000;
emit('pow_kernel_hps_all_cores', allHps, 'hashes/s', {
  workers,
  speedup_vs_1core: Math.round((allHps / kernelHps) * 100) / 100,
  stopped_with: aborted?.code,
});

// Ed25519
const key = keyPairFromSeed(new Uint8Array(randomBytes(32)));
const msg = new Uint8Array(randomBytes(32));
const sig = nodeEd25519.sign(msg, key.seed);
emit('ed25519_sign_per_s_node', measure((n) => { for (let i = 0; i < n; i++) nodeEd25519.sign(msg, key.seed); }, 256), 'signatures/s');
// the node engine's verify (libsodium first when loaded) against OpenSSL alone, measured in turn
const openssl = measure((n) => { for (let i = 0; i < n; i++) verifyOpenssl(msg, sig, key.publicKey); }, 256);
const verifyNode = measure((n) => { for (let i = 0; i < n; i++) nodeEd25519.verify(msg, sig, key.publicKey); }, 256);
emit('ed25519_verify_per_s_openssl', openssl, 'verifications/s');
emit('ed25519_verify_per_s_node', verifyNode, 'verifications/s', {
  accelerator: ed25519Accelerator() ?? 'none',
  ratio_to_openssl: Math.round((verifyNode / openssl) * 100) / 100,
});
emit('ed25519_verify_per_s_tweetnacl', measure((n) => { for (let i = 0; i < n; i++) tweetnaclEd25519.verify(msg, sig, key.publicKey); }, 4), 'verifications/s');

// Block hashing (a lease_accept with 3 attestations: canonical bytes + aux + SHA-256)
const h = (c) => c.repeat(64);
const block = {
  type: 'lease_accept',
  account: key.address,
  previous: h('b'),
  balance: 9_808_000n,
  timestamp: 1_781_802_010_300_000_000n,
  asset: 'XUSD',
  source: h('e'),
  amount: 192_000n,
  locked_r: 2000n,
  certificate_hash: h('5'),
  attestations: [1, 2, 3].map((i) => ({ public_key: h(String(i)), timestamp: 1_781_802_010_000_000_000n + BigInt(i), signature: signHex(msg, key) })),
};
emit('block_hash_per_s', measure((n) => { for (let i = 0; i < n; i++) hashBlock(block, 'devnet-1'); }, 512), 'blocks/s', { type: 'lease_accept' });
