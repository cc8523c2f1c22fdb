import {
  type AbortOptions,
  type Attestation,
  abortError,
  type Block,
  type Clock,
  ErrorCodes,
  type Logger,
  pause,
  silentLogger,
  type TimekeeperSet,
  throwIfAborted,
  validateTimekeepers,
  XeError,
} from '@xe/core-types';
import { checkAttestations } from '@xe/crypto';
import { TimekeeperError, TimekeeperErrorCodes, type TimekeeperFailure } from './errors.js';
import type { AttestationSigner } from './signer.js';
import { type AttestRequest, assertLeaseBlock, parseLeaseHash } from './wire.js';

/**
 * How the gatherer reaches a timekeeper. `apps/node` backs it with `/xe/attest/1.0.0`.
 * A refusal rejects with an error whose `code` is the timekeeper's (e.g. `UNKNOWN_LEASE`,
 * which makes the gatherer retry once with the lease block). Must honour `signal`.
 */
export interface AttestationTransport {
  requestAttestation(timekeeperPubKey: string, request: AttestRequest, options: { signal: AbortSignal }): Promise<Attestation>;
}

export interface AttestationGathererOptions {
  timekeepers: TimekeeperSet;
  /** This node's signer; used (instead of the transport) when its key is listed. */
  self?: AttestationSigner | undefined;
  /** Per request to one timekeeper; default 10 000. */
  perRequestTimeoutMs?: number;
  /** For a whole `gather` / `requestOne`; default 15 000. */
  overallTimeoutMs?: number;
  /** The network's `max_attestation_skew_ns`: answers further than this from the clock are not kept. */
  skewNs: bigint;
}

export interface AttestationGathererComponents {
  transport: AttestationTransport;
  clock: Clock;
  logger?: Logger;
}

export interface GatherRequest {
  lease_hash: string;
  /** The lease block, sent to a timekeeper that answers UNKNOWN_LEASE. */
  block: Block;
}

export interface RequestOneOptions extends AbortOptions {
  block?: Block;
  /** The requester the local signer rate-limits (the HTTP client's address); default `local`. */
  requester?: string;
}

export const DEFAULT_PER_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_OVERALL_TIMEOUT_MS = 15_000;
/** The requester id of the gatherer's own signatures. */
export const SELF_REQUESTER = 'self';
const LOCAL_REQUESTER = 'local';
/** Pauses before asking again a timekeeper that could not admit the lease block yet. */
export const UNKNOWN_LEASE_RETRY_MS: readonly number[] = [100, 300, 900];

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.length > 0) return code;
  if ((err as { name?: unknown } | null)?.name === 'AbortError') return ErrorCodes.ABORTED;
  return ErrorCodes.INTERNAL;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function short(key: string): string {
  return key.slice(0, 12);
}

function positiveMs(value: number | undefined, fallback: number, field: string): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) {
    throw new TimekeeperError(TimekeeperErrorCodes.INVALID_REQUEST, `${field}: must be a positive number of ms`, { field });
  }
  return v;
}

/** Links `parent` into a new controller; `unlink` detaches it. */
function child(parent: AbortSignal | undefined): { ctrl: AbortController; unlink: () => void } {
  const ctrl = new AbortController();
  if (parent === undefined) return { ctrl, unlink: () => {} };
  if (parent.aborted) {
    ctrl.abort(parent.reason);
    return { ctrl, unlink: () => {} };
  }
  const onAbort = () => ctrl.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  return { ctrl, unlink: () => parent.removeEventListener('abort', onAbort) };
}

/** Rejects as soon as `signal` aborts, whether or not `promise` honours it. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(abortError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(signal.aborted ? abortError(signal) : e);
      },
    );
  });
}

/**
 * The client side (SPEC §8): asks every listed timekeeper in parallel (itself through its
 * own signer when listed), keeps distinct valid attestations and returns as soon as the
 * threshold is met, aborting the requests still outstanding.
 */
export class AttestationGatherer {
  private readonly timekeepers: TimekeeperSet;
  private readonly self: AttestationSigner | undefined;
  private readonly perRequestMs: number;
  private readonly overallMs: number;
  private readonly skewNs: bigint;
  private readonly transport: AttestationTransport;
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(options: AttestationGathererOptions, components: AttestationGathererComponents) {
    validateTimekeepers(options.timekeepers);
    this.timekeepers = { keys: [...options.timekeepers.keys], threshold: options.timekeepers.threshold };
    this.self = options.self?.listed && this.timekeepers.keys.includes(options.self.publicKey) ? options.self : undefined;
    this.perRequestMs = positiveMs(options.perRequestTimeoutMs, DEFAULT_PER_REQUEST_TIMEOUT_MS, 'perRequestTimeoutMs');
    this.overallMs = positiveMs(options.overallTimeoutMs, DEFAULT_OVERALL_TIMEOUT_MS, 'overallTimeoutMs');
    if (options.skewNs <= 0n) {
      throw new TimekeeperError(TimekeeperErrorCodes.INVALID_REQUEST, 'skewNs: must be positive', { field: 'skewNs' });
    }
    this.skewNs = options.skewNs;
    this.transport = components.transport;
    this.clock = components.clock;
    this.log = components.logger ?? silentLogger;
  }

  /** Whether this node signs for itself (its key is listed and a signer was given). */
  get selfSigning(): boolean {
    return this.self !== undefined;
  }

  /**
   * Gathers `threshold` distinct valid attestations for the lease, or throws
   * TIMEKEEPER_UNAVAILABLE with `details.failures` naming each timekeeper that failed and
   * why. An abort of `options.signal` rejects with that abort's error.
   */
  async gather(request: GatherRequest, options: AbortOptions = {}): Promise<Attestation[]> {
    const leaseHash = parseLeaseHash(request.lease_hash);
    assertLeaseBlock(request.block, leaseHash);
    throwIfAborted(options.signal);
    const { keys, threshold } = this.timekeepers;
    const { ctrl, unlink } = child(options.signal);
    const timer = setTimeout(
      () => ctrl.abort(new XeError(ErrorCodes.TIMEOUT, `no answer within the overall ${this.overallMs} ms`)),
      this.overallMs,
    );
    const got = new Map<string, Attestation>();
    const failures = new Map<string, TimekeeperFailure>();
    let pending = keys.length;
    let done = false;

    try {
      return await new Promise<Attestation[]>((resolve, reject) => {
        const fail = () => {
          done = true;
          if (options.signal?.aborted) {
            reject(abortError(options.signal));
            return;
          }
          for (const key of keys) {
            if (!got.has(key) && !failures.has(key)) {
              const reason: unknown = ctrl.signal.aborted
                ? ctrl.signal.reason
                : new XeError(ErrorCodes.ABORTED, 'abandoned: the threshold could no longer be met');
              failures.set(key, { public_key: key, code: codeOf(reason), message: messageOf(reason) });
            }
          }
          reject(this.unavailable(leaseHash, got.size, [...failures.values()]));
        };
        const update = () => {
          if (done) return;
          if (got.size >= threshold) {
            done = true;
            try {
              resolve(this.finalCheck([...got.values()], leaseHash));
            } catch (err) {
              reject(err);
            }
            return;
          }
          if (got.size + pending < threshold) fail();
        };
        ctrl.signal.addEventListener('abort', () => {
          if (!done) fail();
        });
        for (const key of keys) {
          const task =
            key === this.self?.publicKey
              ? this.self.sign({ lease_hash: leaseHash, block: request.block }, { requester: SELF_REQUESTER, signal: ctrl.signal })
              : this.ask(key, leaseHash, request.block, ctrl.signal);
          task.then(
            (a) => {
              pending--;
              if (done) return;
              try {
                this.checkOne(a, key, leaseHash);
                got.set(key, a);
              } catch (err) {
                failures.set(key, { public_key: key, code: codeOf(err), message: messageOf(err) });
              }
              update();
            },
            (err: unknown) => {
              pending--;
              if (done) return;
              failures.set(key, { public_key: key, code: codeOf(err), message: messageOf(err) });
              this.log.debug('timekeeper failed', { lease: leaseHash, timekeeper: key, err });
              update();
            },
          );
        }
      });
    } finally {
      clearTimeout(timer);
      unlink();
      if (!ctrl.signal.aborted) ctrl.abort(new XeError(ErrorCodes.ABORTED, 'gathering finished'));
      if (done && got.size >= threshold) {
        this.log.debug('attestations gathered', { lease: leaseHash, count: got.size, threshold });
      }
    }
  }

  /**
   * One attestation for the lease: from this node's signer when it is listed (its
   * refusals propagate), otherwise from the first listed timekeeper that answers, in
   * list order. None → TIMEKEEPER_UNAVAILABLE with `details.failures`.
   */
  async requestOne(leaseHash: string, options: RequestOneOptions = {}): Promise<Attestation> {
    const hash = parseLeaseHash(leaseHash);
    if (options.block !== undefined) assertLeaseBlock(options.block, hash);
    throwIfAborted(options.signal);
    if (this.self !== undefined) {
      const req: AttestRequest = options.block === undefined ? { lease_hash: hash } : { lease_hash: hash, block: options.block };
      return this.self.sign(req, {
        requester: options.requester ?? LOCAL_REQUESTER,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    }
    const { ctrl, unlink } = child(options.signal);
    const timer = setTimeout(
      () => ctrl.abort(new XeError(ErrorCodes.TIMEOUT, `no answer within the overall ${this.overallMs} ms`)),
      this.overallMs,
    );
    const failures: TimekeeperFailure[] = [];
    try {
      for (const key of this.timekeepers.keys) {
        if (ctrl.signal.aborted) {
          if (options.signal?.aborted) throw abortError(options.signal);
          failures.push({ public_key: key, code: codeOf(ctrl.signal.reason), message: messageOf(ctrl.signal.reason) });
          continue;
        }
        try {
          // forwarded for someone else: marked relayed, so it never uses this node's own slot as a lease party
          const a = await this.ask(key, hash, options.block, ctrl.signal, true);
          this.checkOne(a, key, hash);
          return a;
        } catch (err) {
          if (options.signal?.aborted) throw abortError(options.signal);
          failures.push({ public_key: key, code: codeOf(err), message: messageOf(err) });
        }
      }
      throw this.unavailable(hash, 0, failures, 1);
    } finally {
      clearTimeout(timer);
      unlink();
    }
  }

  /**
   * Asks one timekeeper; on UNKNOWN_LEASE asks once more, sending the lease block. A
   * timekeeper that took the block but could not admit it yet says so with a retryable
   * UNKNOWN_LEASE (the provider's certificate or the consumer's previous block still on its
   * way, which its intake is fetching): it is asked again after each of
   * UNKNOWN_LEASE_RETRY_MS, within the request's deadline.
   */
  private async ask(key: string, leaseHash: string, block: Block | undefined, signal: AbortSignal, relayed = false): Promise<Attestation> {
    const mark = relayed ? { relayed: true } : {};
    try {
      return await this.attempt(key, { lease_hash: leaseHash, ...mark }, signal);
    } catch (err) {
      if (codeOf(err) !== TimekeeperErrorCodes.UNKNOWN_LEASE || block === undefined || signal.aborted) throw err;
      this.log.debug('timekeeper lacks the lease; sending it', { lease: leaseHash, timekeeper: key });
    }
    for (let i = 0; ; i++) {
      try {
        return await this.attempt(key, { lease_hash: leaseHash, block, ...mark }, signal);
      } catch (err) {
        const retryable = (err as { retryable?: unknown } | null)?.retryable === true;
        if (codeOf(err) !== TimekeeperErrorCodes.UNKNOWN_LEASE || !retryable || i >= UNKNOWN_LEASE_RETRY_MS.length || signal.aborted) throw err;
        this.log.debug('timekeeper cannot admit the lease block yet; asking again', { lease: leaseHash, timekeeper: key, err });
        await pause(UNKNOWN_LEASE_RETRY_MS[i]!, signal);
      }
    }
  }

  private async attempt(key: string, request: AttestRequest, parent: AbortSignal): Promise<Attestation> {
    const { ctrl, unlink } = child(parent);
    const timer = setTimeout(() => ctrl.abort(new XeError(ErrorCodes.TIMEOUT, `no answer within ${this.perRequestMs} ms`)), this.perRequestMs);
    try {
      return await raceAbort(this.transport.requestAttestation(key, request, { signal: ctrl.signal }), ctrl.signal);
    } finally {
      clearTimeout(timer);
      unlink();
    }
  }

  /** Validates one answer with the shared implementation, as a set of one from that key. */
  private checkOne(a: Attestation, key: string, leaseHash: string): void {
    if (a.public_key !== key) {
      throw new TimekeeperError(TimekeeperErrorCodes.INVALID_ATTESTATION, `answer signed by ${short(a.public_key)}…, not by the timekeeper asked`);
    }
    try {
      checkAttestations([a], leaseHash, { keys: [key], threshold: 1 }, { now: this.clock(), skewNs: this.skewNs, checkSkew: true });
    } catch (err) {
      throw new TimekeeperError(
        TimekeeperErrorCodes.INVALID_ATTESTATION,
        `attestation does not validate (bad signature, or timestamp ${a.timestamp} further than ${this.skewNs} ns from local time)`,
        { cause: err },
      );
    }
  }

  private finalCheck(list: Attestation[], leaseHash: string): Attestation[] {
    try {
      return checkAttestations(list, leaseHash, this.timekeepers, { now: this.clock(), skewNs: this.skewNs, checkSkew: true }).counted;
    } catch (err) {
      throw new TimekeeperError(TimekeeperErrorCodes.TIMEKEEPER_UNAVAILABLE, `gathered attestations do not validate: ${messageOf(err)}`, {
        cause: err,
        retryable: true,
      });
    }
  }

  private unavailable(leaseHash: string, valid: number, failures: TimekeeperFailure[], needed = this.timekeepers.threshold): TimekeeperError {
    const list = failures.map((f) => `${short(f.public_key)}… ${f.code}: ${f.message}`).join('; ');
    this.log.warn('timekeepers unavailable', { lease: leaseHash, valid, needed, failed: failures.length });
    return new TimekeeperError(
      TimekeeperErrorCodes.TIMEKEEPER_UNAVAILABLE,
      `${valid} of ${needed} attestations for lease ${leaseHash}; failed: ${list || 'none asked'}`,
      { retryable: true, details: { lease_hash: leaseHash, valid, needed, failures } },
    );
  }
}
