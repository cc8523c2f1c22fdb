import {
  type AdmitResult,
  type Attestation,
  type Block,
  type Certificate,
  DEVNET_LEASE_PARAMS,
  type GenesisBundle,
  NS_PER_SEC,
  type UnsignedBlock,
} from '@xe/core-types';
import { type KeyPair, keyPairFromSeed, signAttestation, signCertificate } from '@xe/crypto';
import {
  type AccountView,
  buildReceive,
  createGenesisBundle,
  emptyHead,
  Ledger,
  MemoryStore,
  type Origin,
  sealBlock,
  type Store,
  stateDigest,
} from '../src/index.js';

export const NETWORK = 'unit-net';
export const DIFFICULTY = 0xf000000000000000n;
export const LEASE = DEVNET_LEASE_PARAMS;
/** A fixed "now" for tests, unix ns. */
export const T0 = 1_800_000_000_000_000_000n;
export const S = NS_PER_SEC;

const seed = (n: number) => new Uint8Array(32).fill(n);
export const K = {
  xeTreasury: keyPairFromSeed(seed(0xe1)),
  xusdTreasury: keyPairFromSeed(seed(0xe2)),
  alice: keyPairFromSeed(seed(0xa1)),
  bob: keyPairFromSeed(seed(0xb1)),
  carol: keyPairFromSeed(seed(0xc1)),
  prov: keyPairFromSeed(seed(0x71)),
  prov2: keyPairFromSeed(seed(0x72)),
  tk1: keyPairFromSeed(seed(0x31)),
  tk2: keyPairFromSeed(seed(0x32)),
  tk3: keyPairFromSeed(seed(0x33)),
};

export const XUSD = (n: bigint) => n * 1_000_000n;

let bundleCache: Promise<GenesisBundle> | undefined;

/** A devnet bundle: 3 timekeepers (threshold 2), XUSD to alice, bob, carol, prov, prov2; XE to alice. */
export function testBundle(): Promise<GenesisBundle> {
  bundleCache ??= createGenesisBundle({
    networkId: NETWORK,
    difficulty: DIFFICULTY,
    timekeepers: { keys: [K.tk1.pubKeyHex, K.tk2.pubKeyHex, K.tk3.pubKeyHex], threshold: 2 },
    lease: LEASE,
    representatives: [0x91, 0x92, 0x93].map((b) => ({ address: keyPairFromSeed(seed(b)).address, weight: 1n })),
    quorumPct: 60,
    treasuryKeys: { XE: K.xeTreasury, XUSD: K.xusdTreasury },
    allocations: [
      { address: K.alice.address, asset: 'XUSD', amount: XUSD(1000n) },
      { address: K.bob.address, asset: 'XUSD', amount: XUSD(1000n) },
      { address: K.carol.address, asset: 'XUSD', amount: XUSD(1000n) },
      { address: K.prov.address, asset: 'XUSD', amount: XUSD(1000n) },
      { address: K.prov2.address, asset: 'XUSD', amount: XUSD(1000n) },
      { address: K.alice.address, asset: 'XE', amount: XUSD(50n) },
    ],
    timestamp: T0 - 3600n * S,
  });
  return bundleCache;
}

/** A mutable test clock. */
export class TestClock {
  constructor(public now: bigint = T0) {}
  readonly fn = () => this.now;
}

export async function seal(unsigned: UnsignedBlock, key: KeyPair, networkId = NETWORK, difficulty = DIFFICULTY): Promise<Block> {
  return sealBlock(unsigned, key, { networkId, difficulty });
}

export function certificateFor(key: KeyPair, opts: { multiplier?: bigint; issued?: bigint; expires?: bigint } = {}): Certificate {
  return signCertificate(
    {
      provider: key.address,
      provider_pub_key: key.pubKeyHex,
      score: 1000n,
      price_multiplier_milli: opts.multiplier ?? 1000n,
      issued_at: opts.issued ?? T0 - 24n * 3600n * S,
      expires_at: opts.expires ?? T0 + 6n * 24n * 3600n * S,
    },
    key,
    NETWORK,
  );
}

/** Two timekeeper attestations whose lower median is `t`. */
export function attest(leaseHash: string, t: bigint, signers: KeyPair[] = [K.tk1, K.tk2]): Attestation[] {
  return signers.map((k, i) => signAttestation(k, leaseHash, t + BigInt(i)));
}

export interface World {
  ledger: Ledger;
  store: Store;
  clock: TestClock;
  bundle: GenesisBundle;
}

/** A ledger on a fresh MemoryStore (or the given store) with every genesis allocation received. */
export async function world(store: Store = new MemoryStore()): Promise<World> {
  const bundle = await testBundle();
  const clock = new TestClock();
  const ledger = await Ledger.open(store, bundle, { clock: clock.fn });
  for (const k of [K.alice, K.bob, K.carol, K.prov, K.prov2]) await receiveAll(ledger, k, T0 - 1800n * S);
  return { ledger, store, clock, bundle };
}

export async function head(ledger: Ledger, key: KeyPair): Promise<AccountView> {
  return (await ledger.getAccount(key.address)) ?? emptyHead(key.address, key.pubKeyHex);
}

export async function submit(ledger: Ledger, unsigned: UnsignedBlock, key: KeyPair, origin: Origin = 'sync'): Promise<AdmitResult> {
  return ledger.addBlock(await seal(unsigned, key), { origin });
}

export async function receiveAll(ledger: Ledger, key: KeyPair, timestamp: bigint): Promise<void> {
  for (const p of await ledger.pendingFor(key.address)) {
    const r = await submit(ledger, buildReceive(await head(ledger, key), p, timestamp), key);
    if (r.status !== 'accepted') throw new Error(`receive failed: ${JSON.stringify(r)}`);
  }
}

export function expectAccepted(r: AdmitResult): Extract<AdmitResult, { status: 'accepted' }> {
  if (r.status !== 'accepted') throw new Error(`expected accepted, got ${r.status}: ${'code' in r ? `${r.code} ${r.message}` : ''}`);
  return r;
}

export const digest = (w: { store: Store }) => stateDigest(w.store);
