import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { bytesToHex, hexToBytes } from '@xe/core-types';
import { ed25519Accelerator, nodeEd25519, verifyOpenssl } from '../../src/index.js';

// The fast path (libsodium answers first, OpenSSL re-judges its rejections) must give
// OpenSSL's answer on every input, or two nodes could disagree on a block.
const sodium = createRequire(import.meta.url)('sodium-native') as {
  crypto_sign_verify_detached(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean;
};

// Encodings of the points of small order on edwards25519 (orders 1, 2, 4, 8) and
// non-canonical encodings of some of them (y ≥ p, or x = 0 with the sign bit set).
const SMALL_ORDER = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
];
const NON_CANONICAL = [
  '0100000000000000000000000000000000000000000000000000000000000080',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
];
/** the order of the base point */
const L = (1n << 252n) + 27742317777372353535851937790883648493n;

function le32(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

function leToBig(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}

function sig(r: Uint8Array, s: Uint8Array): Uint8Array {
  const out = new Uint8Array(64);
  out.set(r, 0);
  out.set(s, 32);
  return out;
}

describe('Ed25519 verify: the libsodium fast path gives OpenSSL’s answer', () => {
  it('libsodium is loaded here (the optional dependency is installed)', () => {
    expect(ed25519Accelerator()).toBe('libsodium');
  });

  it('agrees with OpenSSL on small-order and non-canonical keys and R, and on S at and above L', () => {
    const seed = new Uint8Array(32).fill(7);
    const pub = nodeEd25519.publicKey(seed);
    const honest = nodeEd25519.sign(new Uint8Array(32).fill(1), seed);
    const points = [...SMALL_ORDER, ...NON_CANONICAL].map((h) => hexToBytes(h));
    const keys = [...points, pub];
    const rs = [...points, honest.subarray(0, 32)];
    const ss = [le32(0n), le32(1n), le32(L - 1n), le32(L), le32(L + 1n), honest.subarray(32), le32(leToBig(honest.subarray(32)) + L)];
    const messages = [new Uint8Array(0), new Uint8Array(32).fill(1), new TextEncoder().encode('xe')];
    let cases = 0;
    let openssl = 0;
    let onlyOpenssl = 0;
    for (const a of keys)
      for (const r of rs)
        for (const s of ss)
          for (const m of messages) {
            const signature = sig(r, s);
            const reference = verifyOpenssl(m, signature, a);
            expect({ a: bytesToHex(a), r: bytesToHex(r), s: bytesToHex(s), m: bytesToHex(m), ok: nodeEd25519.verify(m, signature, a) }).toEqual({
              a: bytesToHex(a),
              r: bytesToHex(r),
              s: bytesToHex(s),
              m: bytesToHex(m),
              ok: reference,
            });
            const fast = sodium.crypto_sign_verify_detached(signature, m, a);
            // the property the fast path rests on: what libsodium accepts, OpenSSL accepts
            if (fast) expect(reference).toBe(true);
            cases++;
            if (reference) openssl++;
            if (reference && !fast) onlyOpenssl++;
          }
    expect(cases).toBe(14 * 14 * 7 * 3);
    // the set holds signatures OpenSSL accepts that libsodium rejects (small-order keys):
    // the second opinion is what keeps them accepted
    expect(onlyOpenssl).toBeGreaterThan(0);
    expect(openssl).toBeGreaterThan(onlyOpenssl);
  });

  it('agrees on random honest signatures and on each with one bit flipped', () => {
    for (let i = 0; i < 300; i++) {
      const seed = new Uint8Array(randomBytes(32));
      const pub = nodeEd25519.publicKey(seed);
      const msg = new Uint8Array(randomBytes(32));
      const signature = nodeEd25519.sign(msg, seed);
      expect(nodeEd25519.verify(msg, signature, pub)).toBe(true);
      const bad = new Uint8Array(signature);
      bad[i % 64]! ^= 1 << (i % 8);
      expect(nodeEd25519.verify(msg, bad, pub)).toBe(verifyOpenssl(msg, bad, pub));
      const badKey = new Uint8Array(pub);
      badKey[i % 32]! ^= 1;
      expect(nodeEd25519.verify(msg, signature, badKey)).toBe(verifyOpenssl(msg, signature, badKey));
    }
  });

  it('XE_ED25519_SODIUM=0 turns the fast path off (OpenSSL alone)', () => {
    const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
    const script = `import(${JSON.stringify(dist)}).then((m) => console.log(String(m.ed25519Accelerator())))`;
    const run = (env: NodeJS.ProcessEnv) => execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' }).trim();
    expect(run({ ...process.env, XE_ED25519_SODIUM: '0' })).toBe('undefined');
    expect(run({ ...process.env, XE_ED25519_SODIUM: '' })).toBe('libsodium');
  });
});
