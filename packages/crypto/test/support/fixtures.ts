import { readFileSync } from 'node:fs';
import { type Attestation, type Block, type BlockType, parseJson, type UnsignedBlock, XeError } from '@xe/core-types';
import { type KeyPair, keyPairFromSeed, signAttestation, signBlock } from '../../src/index.js';

/** The shared vectors live in `shared/` beside the repository root. */
export const VECTORS = new URL('../../../../../shared/vectors/', import.meta.url);

export function vector<T = Record<string, unknown>>(name: string): T {
  return parseJson(readFileSync(new URL(name, VECTORS), 'utf8')) as T;
}

export const NETWORK_ID = 'devnet-test';
export const seedOf = (byte: number) => new Uint8Array(32).fill(byte);
export const consumer: KeyPair = keyPairFromSeed(seedOf(0x41));
export const provider: KeyPair = keyPairFromSeed(seedOf(0x42));
export const timekeepers: KeyPair[] = [0x51, 0x52, 0x53].map((b) => keyPairFromSeed(seedOf(b)));

const h = (c: string) => c.repeat(64);
const T0 = 1_781_802_000_000_000_000n;
export const LEASE_HASH = h('e');

function atts(t: bigint): Attestation[] {
  return timekeepers.map((k, i) => signAttestation(k, LEASE_HASH, t + BigInt(i) * 100_000_000n));
}

/** One unsigned block of every type with realistic fields, optional ones included. */
export function unsignedBlocks(): Record<BlockType, UnsignedBlock> {
  const c = { account: consumer.address, previous: h('c'), balance: 98_040_000n, timestamp: T0, asset: 'XUSD' as const, representative: h('d'), pub_key: consumer.pubKeyHex };
  const p = { account: provider.address, previous: h('b'), balance: 9_808_000n, timestamp: T0 + 10_300_000_000n, asset: 'XUSD' as const, representative: h('d'), pub_key: provider.pubKeyHex };
  return {
    send: { type: 'send', ...c, destination: provider.address, amount: 1_000_000n, memo: 'first month\tpaid ✓' },
    receive: { type: 'receive', ...p, previous: '0', source: h('a') },
    lease: {
      type: 'lease',
      ...c,
      destination: provider.address,
      amount: 960_000n,
      vcpus: 1n,
      memory_mb: 1024n,
      disk_gb: 10n,
      duration: 86_400n,
      access_pub_key: h('4'),
      certificate_hash: h('5'),
    },
    lease_accept: {
      type: 'lease_accept',
      ...p,
      source: LEASE_HASH,
      amount: 192_000n,
      locked_r: 2000n,
      certificate_hash: h('5'),
      attestations: atts(T0 + 10_000_000_000n),
    },
    lease_settle: {
      type: 'lease_settle',
      ...p,
      asset: 'XE',
      balance: 1_920_000n,
      source: LEASE_HASH,
      amount: 1_920_000n,
      attestations: atts(T0 + 86_410_000_000_000n),
    },
    genesis: {
      type: 'genesis',
      account: consumer.address,
      previous: '0',
      balance: 42_000_000_000_000n,
      timestamp: 0n,
      asset: 'XE',
      representative: consumer.address,
      pub_key: consumer.pubKeyHex,
      lease_min_duration_secs: 5n,
      lease_settle_grace_ns: 120_000_000_000n,
      lease_force_settle_gap_ns: 300_000_000_000n,
      lease_escrow_expiry_ns: 3_600_000_000_000n,
      lease_archive_gap_ns: 600_000_000_000n,
      max_attestation_skew_ns: 60_000_000_000n,
    },
    lease_cancel: { type: 'lease_cancel', ...c, source: LEASE_HASH, attestations: atts(T0 + 720_000_000_000n) },
    lease_force_settle: { type: 'lease_force_settle', ...c, source: LEASE_HASH, attestations: atts(T0 + 95_000_000_000_000n) },
  };
}

/** The same blocks, hashed and signed by their account's key, with a nonce where one belongs. */
export function signedBlocks(): Record<BlockType, Block> {
  const out = {} as Record<BlockType, Block>;
  for (const [type, b] of Object.entries(unsignedBlocks()) as [BlockType, UnsignedBlock][]) {
    const key = b.account === provider.address ? provider : consumer;
    const signed = signBlock(b, key, NETWORK_ID) as Block;
    out[type] = type === 'genesis' ? signed : ({ ...signed, pow_nonce: 12_345n } as Block);
  }
  return out;
}

export function keyOf(b: Block): KeyPair {
  return b.account === provider.address ? provider : consumer;
}

/** The coded error `fn` throws; anything else (no throw, an uncoded error) fails the test. */
export function errorOf(fn: () => unknown): XeError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  if (thrown instanceof XeError) return thrown;
  throw new Error(`expected a coded XeError, got ${thrown === undefined ? 'no throw' : String(thrown)}`);
}
