import { createHash } from 'node:crypto';
import { ASSETS, type Asset, type Block, bytesToHex } from '@xe/core-types';
import { Bucket, keys, prefixRange, readU64 } from './buckets.js';
import { decodeAccount, decodeChainEntry, decodeJson, decodePending, decodeSupply } from './codec.js';
import { decodePlace, PLACE_BYTES } from './repos/blocks.js';
import type { Store } from './store.js';
import type { AccountState, ConsistencyReport, LeaseRecord, PendingSend, SupplyCounters } from './types.js';

async function scan(store: Store, bucket: number): Promise<[Uint8Array, Uint8Array][]> {
  const out: [Uint8Array, Uint8Array][] = [];
  for await (const e of store.range(prefixRange(keys.bucket(bucket)))) out.push(e);
  return out;
}

const zero = (): SupplyCounters => ({ genesis: 0n, emitted: 0n, burned: 0n, forfeited: 0n, locked: 0n, pending: 0n });

/**
 * Recomputes the ledger's derived state from the stored blocks and compares: chain
 * links and heights, every block's balance by replay, pending sends, lease records and
 * their indexes, supply counters (stored and `memory`, the in-memory ones), and the supply
 * identity per asset. Callers hold the admission queue (Ledger.checkConsistency), so it
 * sees no half-applied block.
 */
export async function verifyLedgerState(store: Store, memory: ReadonlyMap<Asset, SupplyCounters>): Promise<ConsistencyReport> {
  const problems: string[] = [];
  const fail = (p: string) => {
    if (problems.length < 50) problems.push(p);
  };

  // blocks live in their chains (CHAIN: address · height → hash · JSON); BLOCK finds each by hash
  const blocks = new Map<string, { height: bigint; block: Block }>();
  const chains = new Map<string, string[]>();
  for (const [k, v] of await scan(store, Bucket.CHAIN)) {
    const addr = bytesToHex(k.subarray(1, 33));
    const height = readU64(k, 33);
    const list = chains.get(addr) ?? [];
    if (BigInt(list.length + 1) !== height) fail(`chain ${addr}: height ${height} out of sequence`);
    const { digest, block } = decodeChainEntry(v);
    const hash = bytesToHex(digest);
    if (hash !== block.hash) fail(`chain ${addr}[${height}]: entry of ${hash} holds ${block.hash}`);
    list.push(hash);
    chains.set(addr, list);
    blocks.set(hash, { height, block });
  }
  let placed = 0;
  for (const [k, v] of await scan(store, Bucket.BLOCK)) {
    const hash = bytesToHex(k.subarray(1));
    const s = blocks.get(hash);
    placed++;
    const place = v.length === PLACE_BYTES ? decodePlace(v) : undefined;
    if (place === undefined || s === undefined || place.account !== s.block.account || place.height !== s.height) {
      fail(`block ${hash}: its place does not point at its chain entry`);
    }
  }
  if (placed !== blocks.size) fail(`${blocks.size} chain entries, ${placed} block places`);
  const accounts = new Map<string, AccountState>();
  for (const [, v] of await scan(store, Bucket.ACCOUNT)) {
    const a = decodeAccount(v);
    accounts.set(a.address, a);
  }
  const leases = new Map<string, LeaseRecord>();
  for (const [, v] of await scan(store, Bucket.LEASE)) {
    const l = decodeJson<LeaseRecord>(v);
    leases.set(l.hash, l);
  }

  // chains: links, heights, frontier; every block belongs to exactly one chain position
  let chained = 0;
  const received = new Set<string>();
  const leaseBlocks = new Map<string, { accept?: string; settle?: string; cancel?: string; force?: string }>();
  const balancesSum: Record<Asset, bigint> = { XE: 0n, XUSD: 0n };
  const recomputed: Record<Asset, SupplyCounters> = { XE: zero(), XUSD: zero() };
  for (const [addr, a] of accounts) {
    const chain = chains.get(addr) ?? [];
    if (BigInt(chain.length) !== a.height) fail(`account ${addr}: height ${a.height}, chain has ${chain.length}`);
    if (chain.length > 0 && chain[chain.length - 1] !== a.frontier) fail(`account ${addr}: frontier is not the chain head`);
    const bal: Record<Asset, bigint> = { XE: 0n, XUSD: 0n };
    let prev = '0';
    for (const [i, hash] of chain.entries()) {
      chained++;
      const s = blocks.get(hash);
      if (!s) {
        fail(`chain ${addr}[${i + 1}]: block ${hash} missing`);
        continue;
      }
      const b = s.block;
      if (b.account !== addr || s.height !== BigInt(i + 1)) fail(`block ${hash}: account or height disagrees with the chain`);
      if (b.previous !== prev) fail(`block ${hash}: previous does not link`);
      prev = hash;
      switch (b.type) {
        case 'genesis':
          bal[b.asset] = b.balance;
          recomputed[b.asset].genesis += b.balance;
          break;
        case 'send':
          bal[b.asset] -= b.amount;
          break;
        case 'receive': {
          const src = blocks.get(b.source)?.block;
          if (src?.type !== 'send' || src.destination !== addr) fail(`receive ${hash}: source is not a send to it`);
          else bal[b.asset] += src.amount;
          if (received.has(b.source)) fail(`send ${b.source} received twice`);
          received.add(b.source);
          break;
        }
        case 'lease': {
          const l = leases.get(hash);
          if (!l) fail(`lease block ${hash}: no lease record`);
          else if (l.cost !== b.amount || l.consumer !== addr || l.provider !== b.destination) fail(`lease ${hash}: record disagrees with block`);
          bal.XUSD -= b.amount;
          break;
        }
        case 'lease_accept':
          bal.XUSD -= b.amount ?? 0n;
          (leaseBlocks.get(b.source) ?? leaseBlocks.set(b.source, {}).get(b.source)!).accept = hash;
          break;
        case 'lease_settle': {
          bal.XE += b.amount;
          bal.XUSD += leases.get(b.source)?.stake ?? 0n;
          (leaseBlocks.get(b.source) ?? leaseBlocks.set(b.source, {}).get(b.source)!).settle = hash;
          break;
        }
        case 'lease_cancel':
          bal.XUSD += leases.get(b.source)?.cost ?? 0n;
          (leaseBlocks.get(b.source) ?? leaseBlocks.set(b.source, {}).get(b.source)!).cancel = hash;
          break;
        case 'lease_force_settle':
          bal.XUSD += leases.get(b.source)?.cost ?? 0n;
          (leaseBlocks.get(b.source) ?? leaseBlocks.set(b.source, {}).get(b.source)!).force = hash;
          break;
      }
      if (b.balance !== bal[b.asset]) fail(`block ${hash}: balance ${b.balance}, replay gives ${bal[b.asset]}`);
    }
    for (const asset of ASSETS) {
      if (a.balances[asset] !== bal[asset]) fail(`account ${addr}: stored ${asset} ${a.balances[asset]}, replay gives ${bal[asset]}`);
      balancesSum[asset] += a.balances[asset];
    }
  }
  if (chained !== blocks.size) fail(`${blocks.size} blocks stored, ${chained} in chains`);
  for (const addr of chains.keys()) if (!accounts.has(addr)) fail(`chain ${addr} without account`);

  // pending sends = sends not yet received
  const pendingStored = new Map<string, PendingSend>();
  for (const [k, v] of await scan(store, Bucket.PENDING)) {
    const p = decodePending(v);
    if (bytesToHex(k.subarray(1, 33)) !== p.to || bytesToHex(k.subarray(33)) !== p.hash) fail(`pending ${p.hash}: key disagrees`);
    pendingStored.set(p.hash, p);
  }
  for (const { block: b } of blocks.values()) {
    if (b.type !== 'send' || received.has(b.hash)) continue;
    const p = pendingStored.get(b.hash);
    if (!p || p.amount !== b.amount || p.asset !== b.asset || p.to !== b.destination) fail(`send ${b.hash}: pending entry missing or wrong`);
    recomputed[b.asset].pending += b.amount;
    pendingStored.delete(b.hash);
  }
  for (const h of pendingStored.keys()) fail(`pending ${h}: no unreceived send`);

  // lease records against their blocks, and the supply they hold
  const x = recomputed.XUSD;
  for (const l of leases.values()) {
    const lb = leaseBlocks.get(l.hash) ?? {};
    const expected =
      lb.settle !== undefined
        ? 'settled'
        : lb.force !== undefined
          ? 'unfulfilled'
          : lb.cancel !== undefined
            ? 'cancelled'
            : lb.accept !== undefined
              ? l.state === 'expired'
                ? 'expired'
                : 'accepted'
              : 'created';
    if (l.state !== expected) fail(`lease ${l.hash}: state ${l.state}, blocks say ${expected}`);
    if (l.accept_hash !== lb.accept || l.settle_hash !== lb.settle || l.cancel_hash !== lb.cancel || l.force_settle_hash !== lb.force) {
      fail(`lease ${l.hash}: block references disagree`);
    }
    if (!blocks.has(l.hash)) fail(`lease ${l.hash}: no lease block`);
    if (l.state === 'created' || l.state === 'accepted') x.pending += l.cost;
    if (l.state === 'accepted') x.locked += l.stake;
    if (l.state === 'settled') {
      x.burned += l.cost;
      recomputed.XE.emitted += l.emission;
    }
    if (l.state === 'expired') {
      x.burned += l.cost;
      x.forfeited += l.stake;
    }
    if (l.state === 'unfulfilled') x.forfeited += l.stake;
  }
  for (const [bucket, name] of [
    [Bucket.LEASE_BY_STATE, 'state'],
    [Bucket.LEASE_BY_PROVIDER, 'provider'],
    [Bucket.LEASE_BY_CONSUMER, 'consumer'],
    [Bucket.LEASE_ORDER, 'order'],
  ] as const) {
    const seen = new Set<string>();
    for (const [k] of await scan(store, bucket)) {
      const hash = bytesToHex(k.subarray(k.length - 32));
      const l = leases.get(hash);
      const ok =
        l !== undefined &&
        (name === 'state'
          ? keys.leaseByState(l.state, k.subarray(2, 10), hash).every((b, i) => b === k[i]) && k.length === 42
          : name === 'provider'
            ? bytesToHex(k.subarray(1, 33)) === l.provider
            : name === 'consumer'
              ? bytesToHex(k.subarray(1, 33)) === l.consumer
              : true);
      if (!ok || seen.has(hash)) fail(`${name} index: bad entry for ${hash}`);
      seen.add(hash);
    }
    if (seen.size !== leases.size) fail(`${name} index: ${seen.size} entries for ${leases.size} leases`);
  }

  // supply counters and the identity
  for (const asset of ASSETS) {
    const raw = await store.get(keys.supply(asset));
    const stored = raw === undefined ? zero() : decodeSupply(raw);
    const r = recomputed[asset];
    for (const f of Object.keys(r) as (keyof SupplyCounters)[]) {
      if (stored[f] !== r[f]) fail(`supply ${asset}.${f}: stored ${stored[f]}, recomputed ${r[f]}`);
      if (memory.get(asset)?.[f] !== r[f]) fail(`supply ${asset}.${f}: in memory ${memory.get(asset)?.[f]}, recomputed ${r[f]}`);
    }
    const lhs = balancesSum[asset] + r.pending + r.locked + r.burned + r.forfeited;
    const rhs = r.genesis + r.emitted;
    if (lhs !== rhs) fail(`supply identity ${asset}: ${lhs} ≠ ${rhs}`);
  }
  return { ok: problems.length === 0, problems, blocks: blocks.size, accounts: accounts.size, leases: leases.size };
}

/** SHA-256 over every key and value of every bucket, in key order: equal digests, equal state. */
export async function stateDigest(store: Store, options: { exclude?: number[] } = {}): Promise<string> {
  const h = createHash('sha256');
  const excluded = new Set([Bucket.META, ...(options.exclude ?? [])]);
  for (const bucket of Object.values(Bucket)) {
    if (excluded.has(bucket)) continue;
    for (const [k, v] of await scan(store, bucket)) {
      h.update(Buffer.from([k.length >> 8, k.length & 255]));
      h.update(k);
      h.update(Buffer.from([(v.length >> 24) & 255, (v.length >> 16) & 255, (v.length >> 8) & 255, v.length & 255]));
      h.update(v);
    }
  }
  return h.digest('hex');
}
