import type { Asset, Block, Certificate, UnsignedBlock } from '@xe/core-types';
import { type KeyPair, powWork } from '@xe/crypto';
import {
  buildAccept,
  buildCancel,
  buildForceSettle,
  buildLease,
  buildReceive,
  buildSend,
  buildSettle,
  type Ledger,
} from '../../src/index.js';
import { attest, certificateFor, DIFFICULTY, head, K, LEASE, S, seal, T0 } from '../helpers.js';

/** A nonce whose work is below the test difficulty. */
function weakNonce(hash: string): bigint {
  let n = 0n;
  while (powWork(hash, n) >= DIFFICULTY) n++;
  return n;
}

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const USERS = [K.alice, K.bob, K.carol, K.prov, K.prov2];
export const PROVIDERS = [K.prov, K.prov2];

export function certificates(): Certificate[] {
  return PROVIDERS.map((p) => certificateFor(p));
}

export interface Generated {
  /** valid blocks per account, in chain order */
  chains: Map<string, Block[]>;
  /** all valid blocks in generation order */
  all: Block[];
  /** signed blocks that break a type rule at the frontier (rejected by the generator) */
  invalidAtFrontier: number;
  /** corrupted copies (signature, hash, PoW) that any ledger rejects before the chain position */
  corrupt: Block[];
}

/**
 * Drives `ledger` (opened with the test bundle, allocations received) through `steps`
 * random valid operations from several accounts, with random invalid variants mixed in.
 * Every block is admitted with origin 'sync' so timestamps come from the generator's time.
 */
export async function generate(
  ledger: Ledger,
  steps: number,
  seed: number,
  onCheckpoint?: (step: number) => Promise<void>,
  checkpointEvery = 250,
): Promise<Generated> {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const certs = certificates();
  for (const c of certs) await ledger.addCertificate(c);
  const chains = new Map<string, Block[]>();
  const all: Block[] = [];
  const corrupt: Block[] = [];
  let invalidAtFrontier = 0;
  let t = T0;

  const commit = async (unsigned: UnsignedBlock, key: KeyPair) => {
    const b = await seal(unsigned, key);
    const r = await ledger.addBlock(b, { origin: 'sync' });
    if (r.status !== 'accepted') throw new Error(`generator block rejected: ${JSON.stringify(r)}`);
    all.push(b);
    chains.set(key.address, [...(chains.get(key.address) ?? []), b]);
    if (rand() < 0.15) {
      const kind = Math.floor(rand() * 3);
      const c: Block =
        kind === 0
          ? { ...b, signature: b.signature.slice(0, 10) + (b.signature[10] === 'a' ? 'b' : 'a') + b.signature.slice(11) }
          : kind === 1
            ? { ...b, timestamp: b.timestamp + 1n }
            : { ...b, pow_nonce: weakNonce(b.hash) };
      corrupt.push(c);
    }
  };

  /** A signed variant that breaks a rule; must be rejected, non-retryable, with nothing changed. */
  const tryInvalid = async (unsigned: UnsignedBlock, key: KeyPair) => {
    const x = { ...unsigned } as Record<string, unknown>;
    const which = Math.floor(rand() * 3);
    if (which === 0) x.balance = (x.balance as bigint) + 1n;
    else if (which === 1 && typeof x.amount === 'bigint') x.amount = (x.amount as bigint) + 1n;
    else x.asset = x.asset === 'XE' ? 'XUSD' : 'XE';
    const r = await ledger.addBlock(await seal(x as unknown as UnsignedBlock, key), { origin: 'sync' });
    if (r.status !== 'rejected' || r.retryable) throw new Error(`invalid variant not rejected: ${JSON.stringify(r)}`);
    invalidAtFrontier++;
  };

  for (let step = 1; step <= steps; step++) {
    t += BigInt(Math.floor(rand() * 3000)) * 1_000_000n;
    const op = rand();
    let planned: { unsigned: UnsignedBlock; key: KeyPair } | undefined;
    if (op < 0.25) {
      const from = pick(USERS);
      const h = await head(ledger, from);
      const asset: Asset = h.balances.XE > 0n && rand() < 0.3 ? 'XE' : 'XUSD';
      if (h.balances[asset] > 0n) {
        const to = pick(USERS.filter((u) => u !== from));
        const amount = 1n + BigInt(Math.floor(rand() * Number(h.balances[asset] < 5_000_000n ? h.balances[asset] : 5_000_000n)));
        planned = { unsigned: buildSend(h, { destination: to.address, asset, amount, timestamp: t }), key: from };
      }
    } else if (op < 0.45) {
      const who = pick(USERS);
      const pending = await ledger.pendingFor(who.address, { limit: 1 });
      if (pending[0]) planned = { unsigned: buildReceive(await head(ledger, who), pending[0], t), key: who };
    } else if (op < 0.65) {
      const consumer = pick([K.alice, K.bob, K.carol]);
      const cert = pick(certs);
      const provKey = PROVIDERS.find((p) => p.address === cert.provider)!;
      if (provKey !== consumer) {
        const h = await head(ledger, consumer);
        const res = {
          vcpus: BigInt(Math.floor(rand() * 3)),
          memory_mb: BigInt(Math.floor(rand() * 4096)),
          disk_gb: 1n + BigInt(Math.floor(rand() * 20)),
          duration: 5n + BigInt(Math.floor(rand() * 30)),
        };
        const u = buildLease({ ...h, balances: { ...h.balances, XUSD: h.balances.XUSD + 10n ** 12n } }, { certificate: cert, ...res, access_pub_key: K.tk3.pubKeyHex, timestamp: t });
        const cost = (u as { amount: bigint }).amount;
        if (cost <= h.balances.XUSD) planned = { unsigned: { ...u, balance: h.balances.XUSD - cost } as UnsignedBlock, key: consumer };
      }
    } else {
      // progress some lease
      const created = await ledger.listLeases({ state: 'created', limit: 20 });
      const accepted = await ledger.listLeases({ state: 'accepted', limit: 20 });
      const acceptable = created.filter((l) => t <= l.timestamp + LEASE.accept_window_ns);
      const cancellable = created.filter((l) => t >= l.timestamp + LEASE.accept_window_ns + LEASE.max_attestation_skew_ns);
      const settleable = accepted.filter((l) => t >= l.expiry && t <= l.expiry + LEASE.settle_grace_ns);
      const forceable = accepted.filter(
        (l) => t >= l.expiry + LEASE.settle_grace_ns + LEASE.force_settle_gap_ns && t < l.expiry + LEASE.escrow_expiry_ns,
      );
      const choice = Math.floor(rand() * 4);
      if (choice === 0 && acceptable.length > 0 && rand() < 0.85) {
        const l = pick(acceptable);
        const p = PROVIDERS.find((k) => k.address === l.provider)!;
        const h = await head(ledger, p);
        if (h.balances.XUSD >= l.stake) planned = { unsigned: buildAccept(h, l, { attestations: attest(l.hash, t), timestamp: t }, LEASE), key: p };
      } else if (choice === 1 && settleable.length > 0 && rand() < 0.8) {
        const l = pick(settleable);
        const p = PROVIDERS.find((k) => k.address === l.provider)!;
        planned = { unsigned: buildSettle(await head(ledger, p), l, { attestations: attest(l.hash, t), timestamp: t }), key: p };
      } else if (choice === 2 && cancellable.length > 0) {
        const l = pick(cancellable);
        const c = USERS.find((k) => k.address === l.consumer)!;
        planned = { unsigned: buildCancel(await head(ledger, c), l, { attestations: attest(l.hash, t), timestamp: t }), key: c };
      } else if (forceable.length > 0) {
        const l = pick(forceable);
        const c = USERS.find((k) => k.address === l.consumer)!;
        planned = { unsigned: buildForceSettle(await head(ledger, c), l, { attestations: attest(l.hash, t), timestamp: t }), key: c };
      } else {
        t += 20n * S;
      }
    }
    if (planned) {
      if (rand() < 0.3) await tryInvalid(planned.unsigned, planned.key);
      await commit(planned.unsigned, planned.key);
    }
    if (onCheckpoint && step % checkpointEvery === 0) await onCheckpoint(step);
  }
  return { chains, all, invalidAtFrontier, corrupt };
}

/**
 * Feeds the generated chains to `ledger` in a random interleaving that keeps each chain's
 * order; retryable rejections (a receive before its send, an accept before its lease) put
 * the chain back until another block lands. Corrupt blocks are mixed in and must fail.
 */
export async function replay(ledger: Ledger, g: Generated, seed: number): Promise<{ retried: number }> {
  const rand = rng(seed);
  for (const c of certificates()) await ledger.addCertificate(c);
  const next = new Map<string, number>([...g.chains.keys()].map((k) => [k, 0]));
  const corrupt = [...g.corrupt];
  let blocked = new Set<string>();
  let retried = 0;
  let remaining = g.all.length;
  while (remaining > 0) {
    if (corrupt.length > 0 && rand() < 0.1) {
      const c = corrupt.splice(Math.floor(rand() * corrupt.length), 1)[0]!;
      const r = await ledger.addBlock(c, { origin: 'sync' });
      // a copy whose hash is that of a stored block is a duplicate (stored → success, SPEC §3.4)
      if (r.status === 'accepted') throw new Error(`corrupt block admitted: ${JSON.stringify(r)}`);
    }
    const open = [...next].filter(([acct, i]) => i < g.chains.get(acct)!.length && !blocked.has(acct)).map(([a]) => a);
    if (open.length === 0) throw new Error('replay stuck: every remaining chain waits on a dependency');
    const acct = open[Math.floor(rand() * open.length)]!;
    const b = g.chains.get(acct)![next.get(acct)!]!;
    const r = await ledger.addBlock(b, { origin: 'sync' });
    if (r.status === 'accepted') {
      next.set(acct, next.get(acct)! + 1);
      remaining--;
      blocked = new Set();
    } else if (r.status === 'rejected' && r.retryable) {
      blocked.add(acct);
      retried++;
    } else {
      throw new Error(`replay rejected a valid block: ${JSON.stringify(r)}`);
    }
  }
  for (const c of corrupt) {
    const r = await ledger.addBlock(c, { origin: 'sync' });
    if (r.status === 'accepted') throw new Error('corrupt block admitted');
  }
  return { retried };
}
