import {
  type AbortOptions,
  type AdmitResult,
  ATTEST_RATE_WINDOW_NS,
  type Attestation,
  type Block,
  type Clock,
  type LeaseState,
  type Logger,
  silentLogger,
  type TimekeeperSet,
  throwIfAborted,
} from '@xe/core-types';
import { type KeyPair, signAttestation } from '@xe/crypto';
import { TimekeeperError, TimekeeperErrorCodes } from './errors.js';
import { type AttestRequest, assertLeaseBlock, parseLeaseHash } from './wire.js';

/** The states in which a timekeeper signs for a lease (SPEC §8). */
export const ATTESTABLE_STATES: readonly LeaseState[] = ['created', 'accepted'];

/** Looks a lease up by hash; `undefined` when the lease is unknown. */
export type LeaseStateLookup = (leaseHash: string, options?: AbortOptions) => Promise<LeaseState | undefined>;

/** Admits a block into the local ledger (the same path as a gossiped block). */
export type BlockIngest = (block: Block, options?: AbortOptions) => Promise<AdmitResult>;

export interface AttestationSignerOptions {
  /** The node key; it must be one of `timekeepers.keys` for the signer to sign. */
  key: KeyPair;
  timekeepers: TimekeeperSet;
  /** One signature per (requester, lease, state) per this window; default ATTEST_RATE_WINDOW_NS (30 s). */
  rateWindowNs?: bigint;
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
  /** slot key → time of the signature; insertion order is signing order. */
  private readonly slots = new Map<string, bigint>();

  constructor(options: AttestationSignerOptions, components: AttestationSignerComponents) {
    this.key = options.key;
    this.publicKey = options.key.pubKeyHex;
    this.listed = options.timekeepers.keys.includes(this.publicKey);
    this.windowNs = options.rateWindowNs ?? ATTEST_RATE_WINDOW_NS;
    if (this.windowNs < 0n) {
      throw new TimekeeperError(TimekeeperErrorCodes.INVALID_REQUEST, 'rateWindowNs: must not be negative', { field: 'rateWindowNs' });
    }
    this.clock = components.clock;
    this.leaseState = components.leaseState;
    this.ingest = components.ingest;
    this.log = components.logger ?? silentLogger;
  }

  /** Rate slots currently held (expired ones are dropped on every request). */
  get rateSlots(): number {
    return this.slots.size;
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

    let state = await this.leaseState(leaseHash, signal === undefined ? {} : { signal });
    if (state === undefined && request.block !== undefined) {
      const result = await this.ingest(request.block, signal === undefined ? {} : { signal });
      if (result.status === 'rejected') {
        this.log.debug('lease block from requester rejected', { lease: leaseHash, requester, code: result.code });
        throw new TimekeeperError(TimekeeperErrorCodes.UNKNOWN_LEASE, `lease ${leaseHash} unknown; its block was rejected: ${result.message}`, {
          retryable: result.retryable,
          details: { lease_hash: leaseHash, ingest_code: result.code },
        });
      }
      state = await this.leaseState(leaseHash, signal === undefined ? {} : { signal });
    }
    throwIfAborted(signal);
    if (state === undefined) {
      throw new TimekeeperError(TimekeeperErrorCodes.UNKNOWN_LEASE, `lease ${leaseHash} unknown`, {
        retryable: true,
        details: { lease_hash: leaseHash },
      });
    }
    if (!ATTESTABLE_STATES.includes(state)) {
      throw new TimekeeperError(TimekeeperErrorCodes.LEASE_NOT_ATTESTABLE, `lease ${leaseHash} is ${state}; only created or accepted leases are attested`, {
        details: { lease_hash: leaseHash, state },
      });
    }

    // From here to the end nothing awaits, so check, sign and take the slot are atomic.
    const now = this.clock();
    this.prune(now);
    const slot = `${state}\u0000${leaseHash}\u0000${requester}`;
    const last = this.slots.get(slot);
    if (last !== undefined && now - last < this.windowNs) {
      const retryAfter = last + this.windowNs - now;
      throw new TimekeeperError(TimekeeperErrorCodes.RATE_LIMITED, `already signed lease ${leaseHash} (${state}) for this requester; retry in ${retryAfter} ns`, {
        retryable: true,
        details: { lease_hash: leaseHash, state, retry_after_ns: retryAfter },
      });
    }
    const attestation = signAttestation(this.key, leaseHash, now);
    this.slots.delete(slot);
    this.slots.set(slot, now);
    this.log.debug('attestation signed', { lease: leaseHash, state, requester, timestamp: now });
    return attestation;
  }

  /** Drops slots whose window has passed. Slots are in signing order, so this stops at the first live one. */
  private prune(now: bigint): void {
    for (const [slot, at] of this.slots) {
      if (now - at < this.windowNs) break;
      this.slots.delete(slot);
    }
  }
}
