import type { Block, Hash } from './types.js';

/**
 * The one result of offering a block to a ledger (SPEC §3.4). Every layer that admits
 * blocks — the ledger, gossip's sync sink, the timekeeper's ingest, the HTTP API's
 * submit — speaks this type; none converts it by hand.
 *
 * - `accepted`: stored now (`block` is the stored form);
 * - `duplicate`: already stored, nothing changed;
 * - `rejected`: not stored; `retryable` when a dependency is missing and a later retry may
 *   succeed (an unknown `previous`, `source` or certificate).
 */
export type AdmitResult =
  | { status: 'accepted'; hash: Hash; block: Block }
  | { status: 'duplicate'; hash: Hash }
  | { status: 'rejected'; hash?: Hash; code: string; message: string; retryable: boolean };

export type AdmitStatus = AdmitResult['status'];

/** The `rejected` arm of an admission result. */
export type AdmitRejection = Extract<AdmitResult, { status: 'rejected' }>;

/**
 * The result of offering a provider certificate (SPEC §7): the same statuses as a block's,
 * with no stored form to hand back.
 */
export type CertificateAdmitResult = { status: 'accepted' | 'duplicate'; hash: Hash } | AdmitRejection;
