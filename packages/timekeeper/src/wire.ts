import { type Attestation, type Block, fields, type LeaseBlock, parseAttestation, parseBlock, XeError } from '@xe/core-types';
import { TimekeeperError, TimekeeperErrorCodes } from './errors.js';

/** What a requester asks a timekeeper for (the body of `/xe/attest/1.0.0`). */
export interface AttestRequest {
  lease_hash: string;
  /** The lease block, so a timekeeper that lacks the lease can admit it first. */
  block?: Block;
  /**
   * Set by a node that forwards the request for someone else (`POST /attestation/request`
   * on a node that is not a timekeeper): the timekeeper counts it in the third-party rate
   * bucket, never in the slot of the lease's provider or consumer.
   */
  relayed?: boolean;
}

const REQUEST_FIELDS = new Set(['lease_hash', 'block', 'relayed']);

function invalidRequest(err: unknown): TimekeeperError {
  if (err instanceof TimekeeperError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const field = err instanceof XeError ? err.field : undefined;
  return new TimekeeperError(TimekeeperErrorCodes.INVALID_REQUEST, message, {
    cause: err,
    ...(field === undefined ? {} : { field }),
  });
}

/**
 * Checks that `block` is the lease block named by `leaseHash`: a `lease` block whose
 * `hash` field equals it. (Whether the hash recomputes is the ledger's admission check.)
 */
export function assertLeaseBlock(block: Block, leaseHash: string): asserts block is LeaseBlock {
  if (block.type !== 'lease') {
    throw new TimekeeperError(TimekeeperErrorCodes.INVALID_REQUEST, `block: expected a lease block, got a ${block.type} block`, {
      field: 'block.type',
    });
  }
  if (block.hash !== leaseHash) {
    throw new TimekeeperError(TimekeeperErrorCodes.INVALID_REQUEST, 'block: its hash is not the lease_hash requested', {
      field: 'block.hash',
    });
  }
}

/** Validates a lease hash: 64 lowercase hex chars, else INVALID_REQUEST. */
export function parseLeaseHash(value: unknown, field = 'lease_hash'): string {
  try {
    return fields.hash(value, field);
  } catch (err) {
    throw invalidRequest(err);
  }
}

/**
 * Validates the wire request `{lease_hash, block?}` (JSON text or a value parsed with the
 * core-types codec). The block must be a well-formed `lease` block whose hash is
 * `lease_hash`. Anything else is a TimekeeperError `INVALID_REQUEST` naming the field.
 */
export function parseAttestRequest(input: unknown): AttestRequest {
  try {
    const o = fields.expectObject(fields.asJsonValue(input), 'request');
    fields.onlyFields(o, REQUEST_FIELDS, 'an attestation request');
    const lease_hash = fields.hash(fields.requireField(o, 'lease_hash'), 'lease_hash');
    if (o.relayed !== undefined && typeof o.relayed !== 'boolean') {
      throw new TimekeeperError(TimekeeperErrorCodes.INVALID_REQUEST, 'relayed: expected a boolean', { field: 'relayed' });
    }
    const relayed = o.relayed === true ? { relayed: true } : {};
    if (o.block === undefined || o.block === null) return { lease_hash, ...relayed };
    let block: Block;
    try {
      block = parseBlock(o.block);
    } catch (err) {
      const e = err as XeError;
      throw new TimekeeperError(TimekeeperErrorCodes.INVALID_REQUEST, `block.${e.message}`, {
        cause: err,
        field: `block.${e.field ?? ''}`,
      });
    }
    assertLeaseBlock(block, lease_hash);
    return { lease_hash, block, ...relayed };
  } catch (err) {
    throw invalidRequest(err);
  }
}

/**
 * Reads a timekeeper's answer: an attestation, or an error body `{error, code}` which
 * comes back as a thrown XeError carrying the remote `code` (e.g. `UNKNOWN_LEASE`).
 * A body that is neither is INVALID_ATTESTATION.
 */
export function parseAttestResponse(input: unknown): Attestation {
  let value: unknown;
  try {
    value = fields.asJsonValue(input);
  } catch (err) {
    throw new TimekeeperError(TimekeeperErrorCodes.INVALID_ATTESTATION, `response: ${(err as Error).message}`, { cause: err });
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    if (typeof o.code === 'string' && o.code.length > 0 && o.code.length <= 64) {
      const message = typeof o.error === 'string' ? o.error.slice(0, 512) : o.code;
      throw new XeError(o.code, message, { details: { remote: true } });
    }
  }
  try {
    return parseAttestation(value, 'response');
  } catch (err) {
    throw new TimekeeperError(TimekeeperErrorCodes.INVALID_ATTESTATION, (err as Error).message, { cause: err });
  }
}
