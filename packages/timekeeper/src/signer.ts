import {
  type AbortOptions,
  type AdmitResult,
  ATTEST_RATE_WINDOW_NS,
  type Attestation,
  type Block,
  type Clock,
  type LeaseParams,
  type LeaseState,
  type Logger,
  silentLogger,
  type TimekeeperSet,
  throwIfAborted,
} from '@xe/core-types';
import { deriveAddress, type KeyPair, signAttestation } from '@xe/crypto';
import { TimekeeperError, TimekeeperErrorCodes } from './errors.js';
import { type AttestRequest, assertLeaseBlock, parseLeaseHash } from './wire.js';

/** The requester id of this node's own gatherer (kept here so the signer needs no import of the gatherer). */
const SELF = 'self';

/** The states in which a timekeeper signs for a lease (SPEC §8). */
export const ATTESTABLE_STATES: readonly LeaseState[] = ['created', 'accepted'];

/** What the signer needs to know of a lease: its state, its two parties and its timestamp. */
export interface LeaseFacts {
  state: LeaseState;
  /** The lease's provider and consumer addresses: their requests get the parties' slots. */
  provider: string;
  consumer: string;
  /** The lease block's timestamp (the consumer's), for the created-state windows. */
  timestamp: bigint;
}

/**
 * Looks a lease up by hash; `undefined` when the lease is unknown. A bare state (no
 * parties, no timestamp) is accepted too: then every requester not marked relayed keeps
 * its own slot and the created-state windows are not checked.
 */
export type LeaseStateLookup = (leaseHash: string, options?: AbortOptions) => Promise<LeaseState | LeaseFacts | undefined>;

/** At most this many third-party (relayed or non-party) signatures are remembered per rate window; past it such requests wait. */
export const MAX_OTHER_SLOTS = 4096;

/** Which rate bucket a request fell in: a lease party's own (or this node's), or anyone else's. */
export type RateBucket = 'party' | 'other';

/** Admits a block into the local ledger (the same path as a gossiped block). */
export type BlockIngest = (block: Block, options?: AbortOptions) => Promise<AdmitResult>;

export interface AttestationSignerOptions {
  /** The node key; it must be one of `timekeepers.keys` for the signer to sign. */
  key: KeyPair;
  timekeepers: TimekeeperSet;
  /** One signature per (requester, lease, state) per this window; default ATTEST_RATE_WINDOW_NS (30 s). */
  rateWindowNs?: bigint;
  /**
   * The network's lease timing. With it (and lease facts with a timestamp) a `created`
   * lease is signed only while a transition can use the signature: up to lease timestamp +
   * accept window (an accept), or from lease timestamp + accept window + skew (a cancel).
   */
  lease?: Pick<LeaseParams, 'accept_window_ns' | 'max_attestation_skew_ns'>;
}

export interface AttestationSignerComponents {
  /** The one clock: the attestation's timestamp and the rate window. */
  clock: Clock;
  leaseState: LeaseStateLookup;
  ingest: BlockIngest;
  logger?: Logger;
}

export interface SignContext extends AbortOptions {
  /** Who asks: a peer id on libp2p, an IP on HTTP, `self` for the node's own gatherer. */
  requester: string;
  /**
   * The requester's ledger address when the transport authenticated it (libp2p: the
   * remote peer's key, SPEC §2). Only such a requester can hold a lease party's slot.
   */
  requesterAddress?: string;
}

/**
 * The timekeeper side (SPEC §8): signs `SHA-256(lease_hash || u64(now))` with the node
 * key for a lease known as `created` or `accepted`, at most once per (requester, lease,
 * lease state) per rate window. The slot is taken only when a signature is issued.
 */
export class AttestationSigner {
  readonly publicKey: string;
  /** Whether the key is one of the network's timekeepers (otherwise `sign` refuses). */
  readonly listed: boolean;
  private readonly key: KeyPair;
  private readonly windowNs: bigint;
  private readonly clock: Clock;
  private readonly leaseState: LeaseStateLookup;
  private readonly ingest: BlockIngest;
  private readonly log: Logger;
  private readonly leaseTiming: AttestationSignerOptions['lease'];
  private readonly selfAddress: string;
  /** slot key → time of the signature, one map per bucket; insertion order is signing order. */
  private readonly slots: Record<RateBucket, Map<string, bigint>> = { party: new Map(), other: new Map() };

  constructor(options: AttestationSignerOptions, components: AttestationSignerComponents) {
    this.key = options.key;
    this.publicKey = options.key.pubKeyHex;
    this.listed = options.timekeepers.keys.includes(this.publicKey);
    this.windowNs = options.rateWindowNs ?? ATTEST_RATE_WINDOW_NS;
    if (this.windowNs < 0n) {
      throw new TimekeeperError(TimekeeperErrorCodes.INVALID_REQUEST, 'rateWindowNs: must not be negative', { field: 'rateWindowNs' });
    }
    this.leaseTiming = options.lease;
    this.selfAddress = deriveAddress(options.key.pubKeyHex);
    this.clock = components.clock;
    this.leaseState = components.leaseState;
    this.ingest = components.ingest;
    this.log = components.logger ?? silentLogger;
  }

  /** Rate slots currently held, both buckets (expired ones are dropped on every request). */
  get rateSlots(): number {
    return this.slots.party.size + this.slots.other.size;
  }

  /** Rate slots held in one bucket. */
  slotsIn(bucket: RateBucket): number {
    return this.slots[bucket].size;
  }

  /**
   * Signs for `request.lease_hash` or throws a TimekeeperError: NOT_A_TIMEKEEPER,
   * INVALID_REQUEST, UNKNOWN_LEASE, LEASE_NOT_ATTESTABLE or RATE_LIMITED
   * (`details.retry_after_ns`).
   */
  async sign(request: AttestRequest, context: SignContext): Promise<Attestation> {
    const { requester, signal } = context;
    if (!this.listed) {
      throw new TimekeeperError(TimekeeperErrorCodes.NOT_A_TIMEKEEPER, 'this node is not one of the network timekeepers');
    }
    const leaseHash = parseLeaseHash(request.lease_hash);
    if (request.block !== undefined) assertLeaseBlock(request.block, leaseHash);
    throwIfAborted(signal);

    let found = await this.leaseState(leaseHash, signal === undefined ? {} : { signal });
    if (found === undefined && request.block !== undefined) {
      const result = await this.ingest(request.block, signal === undefined ? {} : { signal });
      if (result.status === 'rejected') {
        this.log.debug('lease block from requester rejected', { lease: leaseHash, requester, code: result.code });
        throw new TimekeeperError(TimekeeperErrorCodes.UNKNOWN_LEASE, `lease ${leaseHash} unknown; its block was rejected: ${result.message}`, {
          retryable: result.retryable,
          details: { lease_hash: leaseHash, ingest_code: result.code },
        });
      }
      found = await this.leaseState(leaseHash, signal === undefined ? {} : { signal });
    }
    throwIfAborted(signal);
    if (found === undefined) {
      throw new TimekeeperError(TimekeeperErrorCodes.UNKNOWN_LEASE, `lease ${leaseHash} unknown`, {
        retryable: true,
        details: { lease_hash: leaseHash },
      });
    }
    const facts = typeof found === 'string' ? undefined : found;
    const state: LeaseState = typeof found === 'string' ? found : found.state;
    if (!ATTESTABLE_STATES.includes(state)) {
      throw new TimekeeperError(TimekeeperErrorCodes.LEASE_NOT_ATTESTABLE, `lease ${leaseHash} is ${state}; only created or accepted leases are attested`, {
        details: { lease_hash: leaseHash, state },
      });
    }

    // From here to the end nothing awaits, so check, sign and take the slot are atomic.
    const now = this.clock();
    if (facts !== undefined && state === 'created') this.checkCreatedWindow(leaseHash, facts.timestamp, now);
    const { bucket, key } = this.slotOf(request, context, facts, state, leaseHash);
    const slots = this.slots[bucket];
    this.prune(slots, now);
    const last = slots.get(key);
    if (last !== undefined && now - last < this.windowNs) {
      const retryAfter = last + this.windowNs - now;
      throw new TimekeeperError(TimekeeperErrorCodes.RATE_LIMITED, `already signed lease ${leaseHash} (${state}) for this requester; retry in ${retryAfter} ns`, {
        retryable: true,
        details: { lease_hash: leaseHash, state, retry_after_ns: retryAfter, bucket },
      });
    }
    if (last === undefined && bucket === 'other' && slots.size >= MAX_OTHER_SLOTS) {
      const [oldest] = slots.values();
      const retryAfter = (oldest ?? now) + this.windowNs - now;
      throw new TimekeeperError(TimekeeperErrorCodes.RATE_LIMITED, `too many third-party attestation requests; retry in ${retryAfter} ns`, {
        retryable: true,
        details: { lease_hash: leaseHash, state, retry_after_ns: retryAfter, bucket },
      });
    }
    const attestation = signAttestation(this.key, leaseHash, now);
    slots.delete(key);
    slots.set(key, now);
    this.log.debug('attestation signed', { lease: leaseHash, state, requester, bucket, timestamp: now });
    return attestation;
  }

  /**
   * The rate slot of a request. A lease party's own request (its authenticated address is
   * the lease's provider or consumer, and it is not relayed for someone else) or this
   * node's own gatherer: the `party` bucket, keyed by (address, lease, state). Anything
   * else — HTTP clients, other peers, requests a node relays for a third party — the
   * `other` bucket, keyed by (requester, lease, state), which never touches a party slot.
   */
  private slotOf(
    request: AttestRequest,
    context: SignContext,
    facts: LeaseFacts | undefined,
    state: LeaseState,
    leaseHash: string,
  ): { bucket: RateBucket; key: string } {
    const relayed = request.relayed === true;
    let party: string | undefined;
    if (!relayed) {
      if (context.requester === SELF) party = this.selfAddress;
      else if (facts === undefined) party = context.requesterAddress ?? `peer:${context.requester}`;
      else if (context.requesterAddress === facts.provider || context.requesterAddress === facts.consumer) party = context.requesterAddress;
    }
    if (party !== undefined) return { bucket: 'party', key: `${state}\u0000${leaseHash}\u0000${party}` };
    return { bucket: 'other', key: `${state}\u0000${leaseHash}\u0000${context.requester}` };
  }

  /**
   * A `created` lease is signed only when a transition can use the signature (SPEC §5): an
   * accept up to lease timestamp + accept window, a cancel from + skew after that. In
   * between nothing can, so the request is refused (retryable, `details.opens_at`) and no
   * slot is taken — a consumer asking early for its cancel loses nothing.
   */
  private checkCreatedWindow(leaseHash: string, leaseTimestamp: bigint, now: bigint): void {
    const timing = this.leaseTiming;
    if (timing === undefined) return;
    const acceptEnd = leaseTimestamp + timing.accept_window_ns;
    const cancelOpens = acceptEnd + timing.max_attestation_skew_ns;
    if (now > acceptEnd && now < cancelOpens) {
      throw new TimekeeperError(
        TimekeeperErrorCodes.LEASE_NOT_ATTESTABLE,
        `lease ${leaseHash} is created and its accept window has passed; a cancel can be attested from ${cancelOpens}`,
        { retryable: true, details: { lease_hash: leaseHash, state: 'created', opens_at: cancelOpens } },
      );
    }
  }

  /** Drops slots whose window has passed. Slots are in signing order, so this stops at the first live one. */
  private prune(slots: Map<string, bigint>, now: bigint): void {
    for (const [slot, at] of slots) {
      if (now - at < this.windowNs) break;
      slots.delete(slot);
    }
  }
}
