import { EventEmitter } from 'node:events';
import {
  type AbortOptions,
  type AdmitResult,
  ASSETS,
  type Attestation,
  type Asset,
  type Block,
  type Certificate,
  type Clock,
  type GenesisBundle,
  I64_MIN,
  isXeError,
  LIVE_TIMESTAMP_TOLERANCE_NS,
  type LeaseBlock,
  type LeaseState,
  type Logger,
  MAX_DISK_GB,
  MAX_DURATION_SECS,
  MAX_MEMORY_MB,
  MAX_PRICE_MULTIPLIER_MILLI,
  MAX_VCPUS,
  MIN_PRICE_MULTIPLIER_MILLI,
  type NetworkParams,
  NS_PER_SEC,
  addU64,
  bytesToHex,
  leaseCost,
  leaseEmission,
  leaseStake,
  parseBlock,
  parseCertificate,
  silentLogger,
  subU64,
  systemClock,
  validateNetworkParams,
} from '@xe/core-types';
import {
  deriveAddress,
  hashBlockBytes,
  networkHash,
  validateAttestations,
  verifyCertificate,
  verifyHashSignature,
  verifyPow,
} from '@xe/crypto';
import { Bucket, keys, leaseOrder, prefixRange } from './buckets.js';
import { verifyLedgerState } from './consistency.js';
import {
  decodeAccount,
  decodeBlock,
  decodeJson,
  decodePending,
  decodeSupply,
  encodeAccount,
  encodeBlock,
  encodeJson,
  encodePending,
  encodeSupply,
} from './codec.js';
import { BlockRejection, type LedgerErrorCode, LedgerErrorCodes as C, LedgerOpenError, LedgerStoreError } from './errors.js';
import type { BatchOp, Store } from './store.js';
import type {
  AccountState,
  AccountView,
  AddBlockOptions,
  BlockEvent,
  ConflictRecord,
  ConsistencyReport,
  FrontierEntry,
  LeaseEvent,
  LeaseFilter,
  LeasePage,
  LeaseRecord,
  Origin,
  PendingSend,
  ProviderUsage,
  SupplyCounters,
  SupplyView,
} from './types.js';

/** 2: account heads, supply counters and pending sends in binary (codec.ts). */
export const SCHEMA_VERSION = 2;

export interface LedgerEventMap {
  block: [BlockEvent];
  lease: [LeaseEvent];
}

/** Committed blocks and lease state changes, emitted after the batch is written. */
export class LedgerEvents extends EventEmitter<LedgerEventMap> {}

export interface LedgerOptions {
  clock?: Clock;
  logger?: Logger;
}

type AdmitOrigin = Origin | 'genesis';

const ZERO_SUPPLY: SupplyCounters = { genesis: 0n, emitted: 0n, burned: 0n, forfeited: 0n, locked: 0n, pending: 0n };
const ACCOUNT_CACHE_MAX = 100_000;

function reject(code: LedgerErrorCode, message: string): never {
  throw new BlockRejection(code, message);
}

/** One block's effects, assembled before the batch is written. */
interface Mutation {
  ops: BatchOp[];
  account: AccountState;
  supply: Map<Asset, SupplyCounters>;
  leaseChanges: LeaseEvent[];
}

/**
 * The ledger: block admission (SPEC §3.4, §5), balances, pending sends, the lease state
 * machine and its indexes over one Store. Admissions are serialized; each accepted block
 * is one atomic batch.
 */
export class Ledger {
  readonly events = new LedgerEvents();
  readonly params: NetworkParams;
  readonly networkId: string;
  readonly networkHash: string;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly accounts = new Map<string, AccountState>();
  private supplyCounters = new Map<Asset, SupplyCounters>();
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly store: Store,
    bundle: GenesisBundle,
    netHash: string,
    options: LedgerOptions,
  ) {
    this.params = {
      network_id: bundle.network_id,
      pow_difficulty: bundle.pow_difficulty,
      timekeepers: bundle.timekeepers,
      lease: bundle.lease,
    };
    this.networkId = bundle.network_id;
    this.networkHash = netHash;
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger;
  }

  /**
   * Opens a ledger over `store` for the network of `bundle`: validates the bundle, applies
   * its blocks once, refuses a store made under another network (NETWORK_MISMATCH).
   */
  static async open(store: Store, bundle: GenesisBundle, options: LedgerOptions = {}): Promise<Ledger> {
    try {
      validateNetworkParams(bundle);
    } catch (err) {
      throw new LedgerOpenError(C.INVALID_BUNDLE, `invalid genesis bundle: ${(err as Error).message}`, { cause: err });
    }
    const netHash = networkHash(bundle);
    const ledger = new Ledger(store, bundle, netHash, options);
    const stored = await store.get(keys.meta('network_hash'));
    if (stored !== undefined) {
      const storedHash = new TextDecoder().decode(stored);
      if (storedHash !== netHash) {
        throw new LedgerOpenError(C.NETWORK_MISMATCH, `store belongs to network ${storedHash}, not ${netHash}`, {
          details: { stored: storedHash, expected: netHash },
        });
      }
      const schema = await store.get(keys.meta('schema_version'));
      const version = schema === undefined ? -1 : Number(new TextDecoder().decode(schema));
      if (version !== SCHEMA_VERSION) {
        throw new LedgerOpenError(C.SCHEMA_MISMATCH, `store schema ${version}, this ledger reads ${SCHEMA_VERSION}`);
      }
      await ledger.loadSupply();
    } else {
      await ledger.loadSupply();
      await ledger.applyBundle(bundle);
    }
    ledger.log.info('ledger open', { network_id: ledger.networkId, network_hash: netHash });
    return ledger;
  }

  private async applyBundle(bundle: GenesisBundle): Promise<void> {
    const blocks = bundle.blocks;
    if (blocks.length < 2 || blocks[0]!.type !== 'genesis' || blocks[1]!.type !== 'genesis') {
      throw new LedgerOpenError(C.INVALID_BUNDLE, 'a bundle starts with the two treasury genesis blocks');
    }
    const assets = new Set([blocks[0]!.asset, blocks[1]!.asset]);
    if (assets.size !== 2) throw new LedgerOpenError(C.INVALID_BUNDLE, 'one genesis block per asset');
    for (const [i, b] of blocks.entries()) {
      if (i >= 2 && b.type !== 'send') {
        throw new LedgerOpenError(C.INVALID_BUNDLE, `blocks[${i}]: only treasury sends follow the genesis blocks`);
      }
      const r = await this.enqueue(() => this.admit(b, 'genesis', this.clock()));
      if (r.status === 'rejected') {
        throw new LedgerOpenError(C.INVALID_BUNDLE, `blocks[${i}] rejected: ${r.code}: ${r.message}`, { details: { code: r.code } });
      }
    }
    const enc = new TextEncoder();
    await this.store.batch([
      { type: 'put', key: keys.meta('network_id'), value: enc.encode(this.networkId) },
      { type: 'put', key: keys.meta('schema_version'), value: enc.encode(String(SCHEMA_VERSION)) },
      // written last: its presence means the bundle is fully applied
      { type: 'put', key: keys.meta('network_hash'), value: enc.encode(this.networkHash) },
    ]);
  }

  private async loadSupply(): Promise<void> {
    const m = new Map<Asset, SupplyCounters>();
    for (const a of ASSETS) {
      const v = await this.store.get(keys.supply(a));
      m.set(a, v === undefined ? { ...ZERO_SUPPLY } : decodeSupply(v));
    }
    this.supplyCounters = m;
  }

  /** Runs `fn` after every earlier admission or sweep has finished. */
  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  // ---------------------------------------------------------------- admission

  /** Admits a block (SPEC §3.4, §5). Never throws for bad input; store failures throw LedgerStoreError. */
  addBlock(block: Block, options: AddBlockOptions): Promise<AdmitResult> {
    const now = options.now ?? this.clock();
    return this.enqueue(() => this.admit(block, options.origin, now));
  }

  /** As addBlock, for a JSON value or text: runs parseBlock first. */
  addBlockJson(value: unknown, options: AddBlockOptions = { origin: 'live' }): Promise<AdmitResult> {
    let block: Block;
    try {
      block = parseBlock(value);
    } catch (err) {
      const code = isXeError(err) ? err.code : 'INVALID_JSON';
      return Promise.resolve({ status: 'rejected', code: C.BAD_SHAPE, message: `${code}: ${(err as Error).message}`, retryable: false });
    }
    return this.addBlock(block, options);
  }

  private async admit(input: Block, origin: AdmitOrigin, now: bigint): Promise<AdmitResult> {
    if (this.closed) throw new LedgerStoreError(C.STORE_CLOSED, 'ledger is closed');
    let hash: string | undefined;
    try {
      // 1. shape (also copies the block, so later caller mutations cannot reach the store)
      let block: Block;
      try {
        block = parseBlock(input);
      } catch (err) {
        const code = isXeError(err) ? err.code : 'INVALID_FIELD';
        reject(C.BAD_SHAPE, `${code}: ${(err as Error).message}`);
      }
      // 2. hash
      let digest: Uint8Array;
      try {
        digest = hashBlockBytes(block, this.networkId);
      } catch (err) {
        reject(C.BAD_SHAPE, (err as Error).message);
      }
      const computed = bytesToHex(digest);
      if (computed !== block.hash) reject(C.HASH_MISMATCH, `hash: fields hash to ${computed}`);
      hash = block.hash;
      // 3. already stored: idempotent success
      const blockKey = keys.blockBytes(digest);
      if ((await this.store.get(blockKey)) !== undefined) return { status: 'duplicate', hash };
      if (block.type === 'genesis' && origin !== 'genesis') reject(C.GENESIS_NOT_ALLOWED, 'genesis blocks come only from the bundle');
      if (block.type !== 'genesis' && origin === 'genesis' && block.pow_nonce === undefined) {
        reject(C.POW_INVALID, 'pow_nonce: missing');
      }
      // 4. proof of work
      if (block.type !== 'genesis' && !verifyPow(block, this.params.pow_difficulty)) {
        reject(C.POW_INVALID, 'pow_nonce: work below the network difficulty');
      }
      // 5. signature, by the first block's pub_key or the stored key
      const acct = await this.loadAccount(block.account);
      let pubKey: string;
      if (block.pub_key !== undefined) {
        if (deriveAddress(block.pub_key) !== block.account) reject(C.PUB_KEY_MISMATCH, 'pub_key: does not derive account');
        pubKey = block.pub_key;
      } else if (acct !== undefined) {
        pubKey = acct.pub_key;
      } else if (block.previous === '0') {
        reject(C.MISSING_PUB_KEY, "pub_key: required on an account's first block");
      } else {
        reject(C.UNKNOWN_PREVIOUS, `previous: account ${block.account} is unknown`);
      }
      if (!verifyHashSignature(hash, block.signature, pubKey)) reject(C.SIGNATURE_INVALID, 'signature: does not verify');
      // 6. live timestamp
      if (origin === 'live') {
        const d = block.timestamp - now;
        if (d > LIVE_TIMESTAMP_TOLERANCE_NS || -d > LIVE_TIMESTAMP_TOLERANCE_NS) {
          reject(C.TIMESTAMP_OUT_OF_RANGE, 'timestamp: more than 1 h from the local clock');
        }
      }
      // 7. chain position
      if (acct === undefined) {
        if (block.previous !== '0') reject(C.UNKNOWN_PREVIOUS, `previous: ${block.previous} is unknown`);
      } else if (block.previous !== acct.frontier) {
        return await this.positionTaken(block, acct, now);
      } else if (block.pub_key !== undefined) {
        reject(C.UNEXPECTED_PUB_KEY, "pub_key: only on an account's first block");
      }
      const head: AccountState = acct
        ? { ...acct, balances: { ...acct.balances } }
        : { address: block.account, pub_key: pubKey, frontier: '0', height: 0n, balances: { XE: 0n, XUSD: 0n }, last_timestamp: I64_MIN };
      if (block.timestamp < head.last_timestamp) reject(C.TIMESTAMP_BEFORE_PREVIOUS, 'timestamp: before the previous block');
      // 8. type rules
      const m: Mutation = { ops: [], account: head, supply: new Map(), leaseChanges: [] };
      await this.applyRules(block, m, origin, now);
      // 9. commit atomically
      head.frontier = hash;
      head.height += 1n;
      head.last_timestamp = block.timestamp;
      m.ops.push(
        { type: 'put', key: blockKey, value: encodeBlock(head.height, block) },
        { type: 'put', key: keys.chain(head.address, head.height), value: digest },
        { type: 'put', key: keys.account(head.address), value: encodeAccount(head) },
      );
      for (const [asset, counters] of m.supply) {
        // counters this block left as they were are already stored as they are
        if (!sameSupply(counters, this.supplyCounters.get(asset) ?? ZERO_SUPPLY)) {
          m.ops.push({ type: 'put', key: keys.supply(asset), value: encodeSupply(counters) });
        }
      }
      await this.commit(m.ops);
      this.cacheAccount(head);
      for (const [asset, counters] of m.supply) this.supplyCounters.set(asset, counters);
      this.emit('block', { block, origin });
      for (const ev of m.leaseChanges) this.emit('lease', ev);
      return { status: 'accepted', hash, block };
    } catch (err) {
      if (err instanceof BlockRejection) {
        const r: AdmitResult = { status: 'rejected', code: err.code, message: err.message, retryable: err.retryable };
        if (hash !== undefined) r.hash = hash;
        return r;
      }
      if (isXeError(err) && (err.code === 'OVERFLOW' || err.code === 'INVALID_FIELD')) {
        const r: AdmitResult = { status: 'rejected', code: C.OVERFLOW, message: err.message, retryable: false };
        if (hash !== undefined) r.hash = hash;
        return r;
      }
      if (err instanceof LedgerStoreError) throw err;
      throw new LedgerStoreError(C.INTERNAL, `admission failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
  }

  private async commit(ops: BatchOp[]): Promise<void> {
    try {
      await this.store.batch(ops);
    } catch (err) {
      // the batch is all-or-nothing, but drop derived state rather than trust it
      this.accounts.clear();
      await this.loadSupply().catch(() => undefined);
      throw new LedgerStoreError(C.STORE_FAILURE, `batch failed: ${(err as Error).message}`, { cause: err });
    }
  }

  private emit<K extends keyof LedgerEventMap>(name: K, payload: LedgerEventMap[K][0]): void {
    try {
      (this.events as EventEmitter).emit(name, payload);
    } catch (err) {
      this.log.warn('ledger event listener failed', { event: name, err });
    }
  }

  /** A block whose previous is not the frontier: a fork, an unknown previous, or a mismatch. */
  private async positionTaken(block: Block, acct: AccountState, now: bigint): Promise<AdmitResult> {
    let height: bigint;
    if (block.previous === '0') {
      height = 1n;
    } else {
      const prev = await this.store.get(keys.block(block.previous));
      if (prev === undefined) reject(C.UNKNOWN_PREVIOUS, `previous: ${block.previous} is not known yet`);
      const stored = decodeBlock(prev);
      if (stored.block.account !== block.account) reject(C.PREVIOUS_MISMATCH, 'previous: a block of another account');
      height = stored.height + 1n;
    }
    const existingRef = await this.store.get(keys.chain(acct.address, height));
    if (existingRef === undefined) reject(C.INTERNAL, 'chain index is missing a position');
    const existing = bytesToHex(existingRef);
    const conflict: ConflictRecord = {
      account: block.account,
      previous: block.previous,
      existing,
      rejected: block.hash,
      block,
      detected_at: now,
    };
    await this.commit([{ type: 'put', key: keys.conflict(block.hash), value: encodeJson(conflict) }]);
    this.log.warn('fork rejected', { account: block.account, height, existing, rejected: block.hash });
    const r: AdmitResult = {
      status: 'rejected',
      hash: block.hash,
      code: C.FORK,
      message: `fork: position ${height} of ${block.account} holds ${existing}`,
      retryable: false,
    };
    return r;
  }

  private supplyOf(m: Mutation, asset: Asset): SupplyCounters {
    let s = m.supply.get(asset);
    if (!s) {
      s = { ...(this.supplyCounters.get(asset) ?? ZERO_SUPPLY) };
      m.supply.set(asset, s);
    }
    return s;
  }

  private expectBalance(block: Block, expected: bigint): void {
    if (block.balance !== expected) reject(C.BALANCE_MISMATCH, `balance: expected ${expected}, block says ${block.balance}`);
  }

  private async applyRules(block: Block, m: Mutation, origin: AdmitOrigin, now: bigint): Promise<void> {
    const acct = m.account;
    const lp = this.params.lease;
    switch (block.type) {
      case 'genesis': {
        if (block.previous !== '0' || acct.height !== 0n) reject(C.PREVIOUS_MISMATCH, 'genesis: must open its chain');
        acct.balances[block.asset] = block.balance;
        this.supplyOf(m, block.asset).genesis += block.balance;
        return;
      }
      case 'send': {
        if (block.destination === block.account) reject(C.SELF_DESTINATION, 'destination: equals account');
        if (block.amount === 0n) reject(C.INVALID_AMOUNT, 'amount: must be positive');
        const bal = acct.balances[block.asset];
        if (block.amount > bal) reject(C.INSUFFICIENT_BALANCE, `amount: ${block.amount} exceeds the balance ${bal}`);
        this.expectBalance(block, bal - block.amount);
        acct.balances[block.asset] = block.balance;
        const p: PendingSend = { hash: block.hash, from: block.account, to: block.destination, asset: block.asset, amount: block.amount };
        m.ops.push({ type: 'put', key: keys.pending(block.destination, block.hash), value: encodePending(p) });
        this.supplyOf(m, block.asset).pending += block.amount;
        return;
      }
      case 'receive': {
        const pendingKey = keys.pending(block.account, block.source);
        const raw = await this.store.get(pendingKey);
        if (raw === undefined) await this.explainMissingPending(block.account, block.source);
        const p = decodePending(raw!);
        if (p.asset !== block.asset) reject(C.WRONG_ASSET, `asset: the send is ${p.asset}`);
        this.expectBalance(block, addU64(acct.balances[block.asset], p.amount));
        acct.balances[block.asset] = block.balance;
        m.ops.push({ type: 'del', key: pendingKey });
        const s = this.supplyOf(m, block.asset);
        s.pending = subU64(s.pending, p.amount);
        return;
      }
      case 'lease':
        return this.applyLease(block, m);
      case 'lease_accept': {
        this.requireAsset(block, 'XUSD');
        const lease = await this.leaseFor(block.source);
        if (block.account !== lease.provider) reject(C.WRONG_SIGNER, 'account: not the lease provider');
        this.requireState(lease, 'created');
        const amount = block.amount ?? 0n;
        if (amount !== lease.stake) reject(C.STAKE_MISMATCH, `amount: stake is ${lease.stake}`);
        if (block.certificate_hash !== lease.certificate_hash) reject(C.CERTIFICATE_MISMATCH, "certificate_hash: not the lease's");
        if (block.locked_r !== lp.emission_r_milli) reject(C.LOCKED_R_MISMATCH, `locked_r: the network's R is ${lp.emission_r_milli}`);
        const t = this.attested(block.attestations, lease.hash, origin, now);
        if (t > lease.timestamp + lp.accept_window_ns) reject(C.ACCEPT_WINDOW_PASSED, 'attested start is after the accept window');
        const bal = acct.balances.XUSD;
        if (amount > bal) reject(C.INSUFFICIENT_BALANCE, `amount: stake ${amount} exceeds the balance ${bal}`);
        this.expectBalance(block, bal - amount);
        acct.balances.XUSD = block.balance;
        this.supplyOf(m, 'XUSD').locked += amount;
        const next: LeaseRecord = {
          ...lease,
          state: 'accepted',
          start_time: t,
          expiry: addU64(t, lease.duration * NS_PER_SEC),
          accept_hash: block.hash,
        };
        this.putLease(m, lease, next);
        return;
      }
      case 'lease_settle': {
        this.requireAsset(block, 'XE');
        const lease = await this.leaseFor(block.source);
        if (block.account !== lease.provider) reject(C.WRONG_SIGNER, 'account: not the lease provider');
        this.requireState(lease, 'accepted');
        const t = this.attested(block.attestations, lease.hash, origin, now);
        if (t < lease.expiry) reject(C.SETTLE_TOO_EARLY, 'attested time is before the lease expiry');
        if (t > lease.expiry + lp.settle_grace_ns) reject(C.SETTLE_TOO_LATE, 'attested time is after the settle grace');
        if (block.amount !== lease.emission) reject(C.EMISSION_MISMATCH, `amount: emission is ${lease.emission}`);
        this.expectBalance(block, addU64(acct.balances.XE, lease.emission));
        acct.balances.XE = block.balance;
        acct.balances.XUSD = addU64(acct.balances.XUSD, lease.stake);
        const xe = this.supplyOf(m, 'XE');
        xe.emitted += lease.emission;
        const xusd = this.supplyOf(m, 'XUSD');
        xusd.locked = subU64(xusd.locked, lease.stake);
        xusd.pending = subU64(xusd.pending, lease.cost);
        xusd.burned += lease.cost;
        this.putLease(m, lease, { ...lease, state: 'settled', settle_hash: block.hash, closed_at: t });
        return;
      }
      case 'lease_cancel': {
        this.requireAsset(block, 'XUSD');
        const lease = await this.leaseFor(block.source);
        if (block.account !== lease.consumer) reject(C.WRONG_SIGNER, 'account: not the lease consumer');
        this.requireState(lease, 'created');
        if (block.timestamp < lease.timestamp + lp.accept_window_ns + lp.max_attestation_skew_ns) {
          reject(C.CANCEL_TOO_EARLY, 'timestamp: before lease timestamp + accept window + skew');
        }
        this.expectBalance(block, addU64(acct.balances.XUSD, lease.cost));
        acct.balances.XUSD = block.balance;
        const s = this.supplyOf(m, 'XUSD');
        s.pending = subU64(s.pending, lease.cost);
        this.putLease(m, lease, { ...lease, state: 'cancelled', cancel_hash: block.hash, closed_at: block.timestamp });
        return;
      }
      case 'lease_force_settle': {
        this.requireAsset(block, 'XUSD');
        const lease = await this.leaseFor(block.source);
        if (block.account !== lease.consumer) reject(C.WRONG_SIGNER, 'account: not the lease consumer');
        this.requireState(lease, 'accepted');
        const t = this.attested(block.attestations, lease.hash, origin, now);
        if (t < lease.expiry + lp.settle_grace_ns + lp.force_settle_gap_ns || t >= lease.expiry + lp.escrow_expiry_ns) {
          reject(C.FORCE_SETTLE_WINDOW, 'attested time is outside the force-settle window');
        }
        this.expectBalance(block, addU64(acct.balances.XUSD, lease.cost));
        acct.balances.XUSD = block.balance;
        const s = this.supplyOf(m, 'XUSD');
        s.pending = subU64(s.pending, lease.cost);
        s.locked = subU64(s.locked, lease.stake);
        s.forfeited += lease.stake;
        this.putLease(m, lease, { ...lease, state: 'unfulfilled', force_settle_hash: block.hash, closed_at: t });
        return;
      }
    }
  }

  private async applyLease(block: LeaseBlock, m: Mutation): Promise<void> {
    const acct = m.account;
    const lp = this.params.lease;
    this.requireAsset(block, 'XUSD');
    if (block.destination === block.account) reject(C.SELF_DESTINATION, 'destination: equals account');
    const { vcpus, memory_mb, disk_gb, duration } = block;
    if (vcpus === 0n && memory_mb === 0n && disk_gb === 0n) reject(C.INVALID_RESOURCES, 'resources: all zero');
    if (vcpus > BigInt(MAX_VCPUS) || memory_mb > BigInt(MAX_MEMORY_MB) || disk_gb > BigInt(MAX_DISK_GB)) {
      reject(C.INVALID_RESOURCES, 'resources: above the ceilings');
    }
    if (duration < lp.min_duration_secs || duration > MAX_DURATION_SECS) {
      reject(C.DURATION_OUT_OF_RANGE, `duration: must be between ${lp.min_duration_secs} and ${MAX_DURATION_SECS}`);
    }
    const cert = await this.getCertificate(block.certificate_hash);
    if (cert === undefined) reject(C.UNKNOWN_CERTIFICATE, `certificate_hash: ${block.certificate_hash} is not known yet`);
    if (cert.provider !== block.destination) reject(C.CERTIFICATE_MISMATCH, 'certificate_hash: a certificate of another provider');
    if (block.timestamp >= cert.expires_at) reject(C.CERTIFICATE_EXPIRED, 'certificate_hash: expired at the lease timestamp');
    const cost = leaseCost({ vcpus, memory_mb, disk_gb, duration, multiplier_milli: cert.price_multiplier_milli });
    if (block.amount !== cost) reject(C.COST_MISMATCH, `amount: cost is ${cost}`);
    const bal = acct.balances.XUSD;
    if (cost > bal) reject(C.INSUFFICIENT_BALANCE, `amount: cost ${cost} exceeds the balance ${bal}`);
    this.expectBalance(block, bal - cost);
    acct.balances.XUSD = block.balance;
    this.supplyOf(m, 'XUSD').pending += cost;
    const record: LeaseRecord = {
      hash: block.hash,
      consumer: block.account,
      provider: block.destination,
      vcpus,
      memory_mb,
      disk_gb,
      duration,
      access_pub_key: block.access_pub_key,
      cost,
      stake: leaseStake(cost, lp.stake_divisor),
      emission: leaseEmission(cost, lp.emission_r_milli),
      multiplier_milli: cert.price_multiplier_milli,
      certificate_hash: block.certificate_hash,
      timestamp: block.timestamp,
      start_time: 0n,
      expiry: 0n,
      state: 'created',
    };
    this.putLease(m, null, record);
  }

  private requireAsset(block: Block, asset: Asset): void {
    if (block.asset !== asset) reject(C.WRONG_ASSET, `asset: a ${block.type} block is ${asset}`);
  }

  private requireState(lease: LeaseRecord, state: LeaseState): void {
    // the accept lives on the provider's chain and may simply not have arrived yet
    if (state === 'accepted' && lease.state === 'created') reject(C.LEASE_NOT_ACCEPTED, 'lease is not accepted (yet)');
    if (lease.state !== state) reject(C.LEASE_STATE, `lease is ${lease.state}, needs ${state}`);
  }

  private attested(list: Attestation[], leaseHash: string, origin: AdmitOrigin, now: bigint): bigint {
    try {
      return validateAttestations(list, leaseHash, this.params.timekeepers, {
        now,
        skewNs: this.params.lease.max_attestation_skew_ns,
        checkSkew: origin === 'live',
      });
    } catch (err) {
      reject(C.ATTESTATIONS_INVALID, (err as Error).message);
    }
  }

  private async leaseFor(source: string): Promise<LeaseRecord> {
    const lease = await this.getLease(source);
    if (lease !== undefined) return lease;
    if ((await this.store.get(keys.block(source))) !== undefined) reject(C.NOT_A_LEASE, 'source: not a lease block');
    reject(C.UNKNOWN_SOURCE, `source: ${source} is not known yet`);
  }

  private async explainMissingPending(account: string, source: string): Promise<never> {
    const raw = await this.store.get(keys.block(source));
    if (raw === undefined) reject(C.UNKNOWN_SOURCE, `source: ${source} is not known yet`);
    const { block } = decodeBlock(raw);
    if (block.type !== 'send') reject(C.SOURCE_NOT_RECEIVABLE, `source: a ${block.type} block is not receivable`);
    if (block.destination !== account) reject(C.SOURCE_NOT_RECEIVABLE, 'source: a send to another account');
    reject(C.ALREADY_RECEIVED, 'source: already received');
  }

  /** Writes a lease record and moves its index entries; queues the state-change event. */
  private putLease(m: Mutation, before: LeaseRecord | null, after: LeaseRecord): void {
    const order = leaseOrder(after.timestamp);
    m.ops.push({ type: 'put', key: keys.lease(after.hash), value: encodeJson(after) });
    if (before === null) {
      const empty = new Uint8Array(0);
      m.ops.push(
        { type: 'put', key: keys.leaseOrder(order, after.hash), value: empty },
        { type: 'put', key: keys.leaseByProvider(after.provider, order, after.hash), value: empty },
        { type: 'put', key: keys.leaseByConsumer(after.consumer, order, after.hash), value: empty },
      );
    } else {
      m.ops.push({ type: 'del', key: keys.leaseByState(before.state, order, after.hash) });
    }
    m.ops.push({ type: 'put', key: keys.leaseByState(after.state, order, after.hash), value: new Uint8Array(0) });
    m.leaseChanges.push({ lease: after, previous: before?.state ?? null });
  }

  // ---------------------------------------------------------------- certificates

  /** Verifies and stores a provider certificate (idempotent). Invalid ones are rejected with a code. */
  addCertificate(input: Certificate | unknown): Promise<{ status: 'accepted' | 'duplicate'; hash: string } | { status: 'rejected'; code: string; message: string; retryable: false }> {
    return this.enqueue(async () => {
      let cert: Certificate;
      try {
        cert = parseCertificate(input);
      } catch (err) {
        return { status: 'rejected' as const, code: C.BAD_SHAPE, message: (err as Error).message, retryable: false as const };
      }
      if (!verifyCertificate(cert, this.networkId)) {
        return { status: 'rejected' as const, code: C.CERTIFICATE_INVALID, message: 'certificate: hash, key or signature does not verify', retryable: false as const };
      }
      const mult = cert.price_multiplier_milli;
      if (mult < BigInt(MIN_PRICE_MULTIPLIER_MILLI) || mult > BigInt(MAX_PRICE_MULTIPLIER_MILLI) || cert.expires_at <= cert.issued_at) {
        return { status: 'rejected' as const, code: C.CERTIFICATE_INVALID, message: 'certificate: multiplier or validity out of range', retryable: false as const };
      }
      if ((await this.store.get(keys.certificate(cert.hash))) !== undefined) return { status: 'duplicate' as const, hash: cert.hash };
      await this.commit([
        { type: 'put', key: keys.certificate(cert.hash), value: encodeJson(cert) },
        { type: 'put', key: keys.certByProvider(cert.provider, cert.hash), value: new Uint8Array(0) },
      ]);
      return { status: 'accepted' as const, hash: cert.hash };
    });
  }

  async getCertificate(hash: string): Promise<Certificate | undefined> {
    if (!isHash(hash)) return undefined;
    const v = await this.store.get(keys.certificate(hash));
    return v === undefined ? undefined : decodeJson<Certificate>(v);
  }

  /** The provider's certificates, newest expiry first. */
  async certificatesOf(provider: string, options: AbortOptions = {}): Promise<Certificate[]> {
    if (!isHash(provider)) return [];
    const out: Certificate[] = [];
    for await (const [k] of this.store.range({ ...prefixRange(keys.certByProviderPrefix(provider)), ...sig(options) })) {
      const c = await this.getCertificate(bytesToHex(k.subarray(33)));
      if (c) out.push(c);
    }
    return out.sort((a, b) => (a.expires_at > b.expires_at ? -1 : a.expires_at < b.expires_at ? 1 : 0));
  }

  // ---------------------------------------------------------------- housekeeping

  /**
   * Archives accepted leases nobody settled or force-settled (SPEC §5): once
   * `now ≥ expiry + escrow_expiry + archive_gap` the escrow is burned, the stake
   * forfeited and the lease becomes `expired`. One batch per lease. Returns the hashes.
   */
  archiveSweep(now: bigint = this.clock(), options: AbortOptions = {}): Promise<string[]> {
    return this.enqueue(async () => {
      const lp = this.params.lease;
      const done: string[] = [];
      for (const lease of await this.leasesIn('accepted', options)) {
        if (now < lease.expiry + lp.escrow_expiry_ns + lp.archive_gap_ns) continue;
        const m: Mutation = { ops: [], account: undefined as unknown as AccountState, supply: new Map(), leaseChanges: [] };
        const s = this.supplyOf(m, 'XUSD');
        s.pending = subU64(s.pending, lease.cost);
        s.burned += lease.cost;
        s.locked = subU64(s.locked, lease.stake);
        s.forfeited += lease.stake;
        this.putLease(m, lease, { ...lease, state: 'expired', closed_at: now });
        m.ops.push({ type: 'put', key: keys.supply('XUSD'), value: encodeSupply(s) });
        await this.commit(m.ops);
        this.supplyCounters.set('XUSD', s);
        for (const ev of m.leaseChanges) this.emit('lease', ev);
        done.push(lease.hash);
      }
      if (done.length > 0) this.log.info('leases archived', { count: done.length });
      return done;
    });
  }

  private async leasesIn(state: LeaseState, options: AbortOptions = {}): Promise<LeaseRecord[]> {
    const hashes: string[] = [];
    for await (const [k] of this.store.range({ ...prefixRange(keys.leaseByStatePrefix(state)), ...sig(options) })) {
      hashes.push(bytesToHex(k.subarray(k.length - 32)));
    }
    return this.leasesByHash(hashes);
  }

  private async leasesByHash(hashes: string[]): Promise<LeaseRecord[]> {
    const values = await this.store.getMany(hashes.map((h) => keys.lease(h)));
    return values.filter((v): v is Uint8Array => v !== undefined).map((v) => decodeJson<LeaseRecord>(v));
  }

  /** Accepted leases whose expiry has passed at `now` (due for settlement). */
  async leasesDue(options: { now?: bigint } & AbortOptions = {}): Promise<LeaseRecord[]> {
    const now = options.now ?? this.clock();
    return (await this.leasesIn('accepted', options)).filter((l) => l.expiry <= now);
  }

  /** The provider's accepted leases. */
  async acceptedLeasesOf(provider: string, options: AbortOptions = {}): Promise<LeaseRecord[]> {
    return (await this.listLeases({ provider, state: 'accepted', limit: Number.MAX_SAFE_INTEGER }, options)).filter(
      (l) => l.state === 'accepted',
    );
  }

  // ---------------------------------------------------------------- queries

  private cacheAccount(a: AccountState): void {
    if (this.accounts.size >= ACCOUNT_CACHE_MAX) this.accounts.clear();
    this.accounts.set(a.address, a);
  }

  private async loadAccount(address: string): Promise<AccountState | undefined> {
    const cached = this.accounts.get(address);
    if (cached) return cached;
    const v = await this.store.get(keys.account(address));
    if (v === undefined) return undefined;
    const a = decodeAccount(v);
    this.cacheAccount(a);
    return a;
  }

  async getBlock(hash: string): Promise<Block | undefined> {
    if (!isHash(hash)) return undefined;
    const v = await this.store.get(keys.block(hash));
    return v === undefined ? undefined : decodeBlock(v).block;
  }

  /** The block and its height in its chain. */
  async getStoredBlock(hash: string): Promise<{ block: Block; height: bigint } | undefined> {
    if (!isHash(hash)) return undefined;
    const v = await this.store.get(keys.block(hash));
    return v === undefined ? undefined : decodeBlock(v);
  }

  async hasBlock(hash: string): Promise<boolean> {
    return isHash(hash) && (await this.store.get(keys.block(hash))) !== undefined;
  }

  async getAccount(address: string): Promise<AccountView | undefined> {
    if (!isHash(address)) return undefined;
    const a = await this.loadAccount(address);
    if (!a) return undefined;
    return { address: a.address, pub_key: a.pub_key, frontier: a.frontier, height: a.height, balances: { ...a.balances } };
  }

  /** Blocks of an account's chain from `fromHeight` (default 1), ascending. */
  async chain(address: string, options: { fromHeight?: bigint; limit?: number } & AbortOptions = {}): Promise<Block[]> {
    if (!isHash(address)) return [];
    return this.blocksAfter(address, (options.fromHeight ?? 1n) - 1n, options.limit ?? 1000, options);
  }

  /** Blocks of `account`'s chain with height > `height`, ascending, at most `limit` (sync). */
  async blocksAfter(account: string, height: bigint, limit: number, options: AbortOptions = {}): Promise<Block[]> {
    if (!isHash(account) || limit <= 0) return [];
    const from = height < 0n ? 0n : height;
    const prefix = keys.chainPrefix(account);
    const refs: Uint8Array[] = [];
    for await (const [, v] of this.store.range({ gte: keys.chain(account, from + 1n), lt: prefixRange(prefix).lt, limit, ...sig(options) })) {
      refs.push(new Uint8Array([Bucket.BLOCK, ...v]));
    }
    const values = await this.store.getMany(refs);
    return values.filter((v): v is Uint8Array => v !== undefined).map((v) => decodeBlock(v).block);
  }

  /** Every account's frontier and height (sync). */
  async frontiers(options: AbortOptions = {}): Promise<FrontierEntry[]> {
    const out: FrontierEntry[] = [];
    for await (const [, v] of this.store.range({ ...prefixRange(keys.bucket(Bucket.ACCOUNT)), ...sig(options) })) {
      const a = decodeAccount(v);
      out.push({ account: a.address, frontier: a.frontier, height: a.height });
    }
    return out;
  }

  /** Receivable sends to `address` (lease escrows are not receivable). */
  async pendingFor(address: string, options: { limit?: number } & AbortOptions = {}): Promise<PendingSend[]> {
    if (!isHash(address)) return [];
    const out: PendingSend[] = [];
    const range = { ...prefixRange(keys.pendingPrefix(address)), ...sig(options) };
    for await (const [, v] of this.store.range(options.limit === undefined ? range : { ...range, limit: options.limit })) {
      out.push(decodePending(v));
    }
    return out;
  }

  async getLease(hash: string): Promise<LeaseRecord | undefined> {
    if (!isHash(hash)) return undefined;
    const v = await this.store.get(keys.lease(hash));
    return v === undefined ? undefined : decodeJson<LeaseRecord>(v);
  }

  /** Iterates matching lease hashes in index order (lease timestamp, then hash). */
  private async *leaseHashes(filter: LeaseFilter, options: AbortOptions): AsyncIterable<{ hash: string; needsCheck: boolean }> {
    let prefix: Uint8Array;
    let exact: boolean;
    if (filter.provider !== undefined) {
      prefix = keys.leaseByProviderPrefix(filter.provider);
      exact = filter.state === undefined && filter.consumer === undefined;
    } else if (filter.consumer !== undefined) {
      prefix = keys.leaseByConsumerPrefix(filter.consumer);
      exact = filter.state === undefined;
    } else if (filter.state !== undefined) {
      prefix = keys.leaseByStatePrefix(filter.state);
      exact = true;
    } else {
      prefix = keys.bucket(Bucket.LEASE_ORDER);
      exact = true;
    }
    for await (const [k] of this.store.range({ ...prefixRange(prefix), ...sig(options) })) {
      yield { hash: bytesToHex(k.subarray(k.length - 32)), needsCheck: !exact };
    }
  }

  private static matches(l: LeaseRecord, f: LeaseFilter): boolean {
    return (
      (f.state === undefined || l.state === f.state) &&
      (f.provider === undefined || l.provider === f.provider) &&
      (f.consumer === undefined || l.consumer === f.consumer)
    );
  }

  private static validFilter(f: LeaseFilter): boolean {
    return (f.provider === undefined || isHash(f.provider)) && (f.consumer === undefined || isHash(f.consumer));
  }

  /** Leases matching the filter, oldest first (lease timestamp, then hash), paged by offset/limit. */
  async listLeases(page: LeasePage = {}, options: AbortOptions = {}): Promise<LeaseRecord[]> {
    if (!Ledger.validFilter(page)) return [];
    const offset = Math.max(0, page.offset ?? 0);
    const limit = Math.max(0, page.limit ?? 100);
    const out: LeaseRecord[] = [];
    let skipped = 0;
    if (limit === 0) return out;
    for await (const { hash, needsCheck } of this.leaseHashes(page, options)) {
      if (!needsCheck && skipped < offset) {
        skipped++;
        continue;
      }
      const l = await this.getLease(hash);
      if (!l || !Ledger.matches(l, page)) continue;
      if (skipped < offset) {
        skipped++;
        continue;
      }
      out.push(l);
      if (out.length >= limit) break;
    }
    return out;
  }

  async countLeases(filter: LeaseFilter = {}, options: AbortOptions = {}): Promise<number> {
    if (!Ledger.validFilter(filter)) return 0;
    let n = 0;
    for await (const { hash, needsCheck } of this.leaseHashes(filter, options)) {
      if (!needsCheck) n++;
      else {
        const l = await this.getLease(hash);
        if (l && Ledger.matches(l, filter)) n++;
      }
    }
    return n;
  }

  /** Resources held by the provider's accepted leases. */
  async providerUsage(address: string, options: AbortOptions = {}): Promise<ProviderUsage> {
    const u: ProviderUsage = { vcpus: 0, memory_mb: 0, disk_gb: 0, active_leases: 0 };
    for (const l of await this.acceptedLeasesOf(address, options)) {
      u.vcpus += Number(l.vcpus);
      u.memory_mb += Number(l.memory_mb);
      u.disk_gb += Number(l.disk_gb);
      u.active_leases++;
    }
    return u;
  }

  /** Supply counters of an asset plus the sum of all balances (computed by scanning accounts). */
  async supply(asset: Asset, options: AbortOptions = {}): Promise<SupplyView> {
    let balances = 0n;
    for await (const [, v] of this.store.range({ ...prefixRange(keys.bucket(Bucket.ACCOUNT)), ...sig(options) })) {
      balances += decodeAccount(v).balances[asset];
    }
    return { asset, balances, ...(this.supplyCounters.get(asset) ?? ZERO_SUPPLY) };
  }

  /** Recorded forks, ordered by the rejected block's hash. */
  async conflicts(options: { limit?: number } & AbortOptions = {}): Promise<ConflictRecord[]> {
    const out: ConflictRecord[] = [];
    const range = { ...prefixRange(keys.bucket(Bucket.CONFLICT)), ...sig(options) };
    for await (const [, v] of this.store.range({ ...range, limit: options.limit ?? 100 })) out.push(decodeJson<ConflictRecord>(v));
    return out;
  }

  /** Waits for pending admissions, then closes the store. */
  async close(): Promise<void> {
    await this.enqueue(async () => {
      this.closed = true;
    });
    await this.store.close();
  }

  /**
   * Recomputes derived state from the stored blocks (chains, balances by replay, pending,
   * leases and indexes, supply counters and identity) and reports every disagreement.
   */
  checkConsistency(): Promise<ConsistencyReport> {
    return this.enqueue(() => verifyLedgerState(this));
  }

  /** The underlying store (consistency checks, digests). */
  get storage(): Store {
    return this.store;
  }

  /** Snapshot of the in-memory supply counters (for checks against a recomputation). */
  supplyCounterSnapshot(): Map<Asset, SupplyCounters> {
    return new Map([...this.supplyCounters].map(([a, s]) => [a, { ...s }]));
  }

  /** Runs `fn` inside the admission queue (no admission interleaves). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.enqueue(fn);
  }
}

function sameSupply(a: SupplyCounters, b: SupplyCounters): boolean {
  return (
    a.genesis === b.genesis &&
    a.emitted === b.emitted &&
    a.burned === b.burned &&
    a.forfeited === b.forfeited &&
    a.locked === b.locked &&
    a.pending === b.pending
  );
}

function sig(options: AbortOptions): { signal?: AbortSignal } {
  return options.signal === undefined ? {} : { signal: options.signal };
}

function isHash(v: unknown): v is string {
  return typeof v === 'string' && v.length === 64 && /^[0-9a-f]{64}$/.test(v);
}

