import {
  ErrorCodes,
  LEASE_STATES,
  MAX_DISK_GB,
  MAX_LEASE_DURATION_SECS,
  MAX_MEMORY_MB,
  MAX_VCPUS,
  NODE_ROLES,
  VM_STATUSES,
} from '@xe/core-types';
import { z } from 'zod';
import { StoredBlockSchema } from './blocks.js';
import { address, asset, hash, i64, int, perAsset, previous, pubKey, signature, u64, uint } from './scalars.js';

/**
 * Request and response objects of SPEC §11. Responses are open (`looseObject`): a client
 * keeps fields a newer node adds. Request bodies are closed (`strictObject`): the node
 * refuses a field it does not know (`UNKNOWN_FIELD`).
 */

// ---- errors

/** Every error body (SPEC §11): `retryable` is false unless a retry can succeed. */
export const ErrorBody = z
  .looseObject({
    error: z.string().meta({ description: 'human-readable message; branch on `code`, never on this' }),
    code: z.string().meta({ description: 'stable machine-readable error code (UPPER_SNAKE)' }),
    retryable: z.boolean().meta({ description: 'true when the same request may succeed later' }),
  })
  .meta({ id: 'Error' });

/** `POST /lease/request` past its accept timeout (504): the lease exists and is named. */
export const AcceptTimeoutErrorBody = ErrorBody.extend({
  lease_hash: hash().meta({ description: 'the lease that was committed but not accepted in time' }),
}).meta({ id: 'AcceptTimeoutError' });

/** `POST /leases/{hash}/cancel` refused (409): `opens_at` when the cancel window is not open yet. */
export const CancelWindowErrorBody = ErrorBody.extend({
  opens_at: i64()
    .optional()
    .meta({ description: 'unix ns at which the attested cancel becomes valid; absent when the lease is past `created`' }),
}).meta({ id: 'CancelWindowError' });

// ---- leases, providers, VMs

export const LeaseState = z.enum(LEASE_STATES).meta({ id: 'LeaseState' });

export const Lease = z
  .looseObject({
    lease_hash: hash(),
    consumer: address(),
    provider: address(),
    vcpus: uint(),
    memory_mb: uint(),
    disk_gb: uint(),
    duration: uint().meta({ description: 'seconds' }),
    access_pub_key: pubKey(),
    cost: u64().meta({ description: 'µXUSD' }),
    stake: u64().meta({ description: 'µXUSD' }),
    start_time: i64().meta({ description: 'unix ns; 0 until accepted' }),
    certificate_hash: hash(),
    settled: z.boolean().meta({ description: 'state is settled, unfulfilled or expired' }),
    state: LeaseState,
  })
  .meta({ id: 'Lease' });

export const LeaseRequest = z
  .strictObject({
    vcpus: uint(MAX_VCPUS).optional().meta({ description: 'missing reads as 0 (XE)' }),
    memory_mb: uint(MAX_MEMORY_MB).optional().meta({ description: 'missing reads as 0 (XE)' }),
    disk_gb: uint(MAX_DISK_GB).optional().meta({ description: 'missing reads as 0 (XE)' }),
    duration: uint(MAX_LEASE_DURATION_SECS, 1).meta({ description: "seconds, within the network's bounds (SPEC §4)" }),
    access_pub_key: pubKey(),
  })
  .refine((r) => (r.vcpus ?? 0) > 0 || (r.memory_mb ?? 0) > 0 || (r.disk_gb ?? 0) > 0, {
    message: 'vcpus, memory_mb and disk_gb are all 0; at least one must be greater than 0',
    path: ['vcpus'],
    params: { xeCode: ErrorCodes.INVALID_RESOURCES },
  })
  .meta({ id: 'LeaseRequest' });

export const LeaseRequested = z.looseObject({ lease_hash: hash() }).meta({ id: 'LeaseRequested' });

export const LeaseCancelled = z
  .looseObject({
    lease_hash: hash(),
    state: z.literal('cancelled'),
    block_hash: hash().optional().meta({ description: 'the confirmed lease_cancel block (ours)' }),
  })
  .meta({ id: 'LeaseCancelled' });

export const Provider = z
  .looseObject({
    address: address(),
    vcpus: uint(),
    memory_mb: uint(),
    disk_gb: uint(),
    active_leases: uint(),
    available_vcpus: uint(),
    available_memory_mb: uint(),
    available_disk_gb: uint(),
    // XE's names (its CLI reads them)
    account: address().meta({ description: 'XE: the same as `address`' }),
    used_vcpus: uint().meta({ description: 'XE: held by accepted, unfinished leases' }),
    used_memory_mb: uint(),
    used_disk_gb: uint(),
    total_leases: uint().meta({ description: 'XE: every lease this provider accepted' }),
  })
  .meta({ id: 'Provider' });

export const Resources = z.looseObject({ vcpus: uint(), memory_mb: uint(), disk_gb: uint() }).meta({ id: 'Resources' });

export const Vm = z
  .looseObject({
    lease_hash: hash(),
    status: z.enum(VM_STATUSES),
    resources: Resources,
    created_at: i64().meta({ description: 'unix ns' }),
    host_key_fingerprint: z
      .string()
      .regex(/^SHA256:[A-Za-z0-9+/]{43}$/)
      .optional()
      .meta({ description: "XE: SHA256 fingerprint (as ssh-keygen -l prints it) of the VM's own SSH host key" }),
    host_public_key: z
      .string()
      .max(4096)
      .regex(/^[a-z0-9][a-z0-9@.-]{0,63} [A-Za-z0-9+/]+={0,2}$/)
      .optional()
      .meta({ description: "ours: the VM's SSH host key, one OpenSSH line `<type> <base64>`; present with `host_key_signature`" }),
    host_key_signature: signature()
      .optional()
      .meta({
        description:
          'ours: the lease provider\'s Ed25519 signature of SHA-256("xe/vmhostkey/v1" || lease_hash bytes || lp(host_public_key)); `xe-node ssh` checks it with the provider\'s key and pins the key',
      }),
    limits_not_enforced: z
      .array(z.enum(['memory', 'pids', 'cpu', 'cpuset', 'disk', 'network']))
      .optional()
      .meta({ description: 'XE: present only when the operator accepted limits this provider cannot enforce' }),
  })
  .meta({ id: 'Vm' });

export const MAX_COMMAND_CHARS = 64 * 1024;
export const MAX_EXEC_TIMEOUT_MS = 3_600_000;

export const ExecRequest = z
  .strictObject({
    command: z
      .string()
      .max(MAX_COMMAND_CHARS)
      .refine((s) => s.trim() !== '', { message: 'must not be empty' })
      .meta({ description: 'run with `sh -c`' }),
    timeout_ms: uint(MAX_EXEC_TIMEOUT_MS, 1).optional(),
  })
  .meta({ id: 'ExecRequest' });

export const ExecResult = z
  .looseObject({
    exit_code: int(),
    stdout: z.string(),
    stderr: z.string(),
    stdout_truncated: z.boolean().optional().meta({ description: 'cut at 1 MiB' }),
    stderr_truncated: z.boolean().optional(),
    timed_out: z.boolean().optional(),
  })
  .meta({ id: 'ExecResult' });

export const AttestationRequest = z.strictObject({ lease_hash: hash() }).meta({ id: 'AttestationRequest' });

export const AttestationReply = z
  .looseObject({ public_key: pubKey(), timestamp: u64().meta({ description: 'unix ns' }), signature: signature() })
  .meta({ id: 'AttestationReply' });

// ---- node

export const RouteListEntry = z.looseObject({
  method: z.enum(['GET', 'POST']),
  path: z.string(),
  auth: z.enum(['none', 'operator', 'signature']),
  description: z.string(),
});

export const Endpoint = z.looseObject({ method: z.enum(['GET', 'POST']), path: z.string(), description: z.string() });

export const RootInfo = z
  .looseObject({
    name: z.string(),
    version: z.string(),
    network_id: z.string(),
    address: address(),
    peer_id: z.string(),
    node_id: z.string().meta({ description: 'XE: the libp2p peer id' }),
    routes: z.array(RouteListEntry),
    endpoints: z.array(Endpoint).meta({ description: "XE's route list" }),
  })
  .meta({ id: 'RootInfo' });

export const LeaseTiming = z
  .looseObject({
    min_duration_secs: u64(),
    settle_grace_ns: u64(),
    force_settle_gap_ns: u64(),
    escrow_expiry_ns: u64(),
    archive_gap_ns: u64(),
    max_attestation_skew_ns: u64(),
  })
  .meta({ id: 'LeaseTiming' });

export const FinalityInfo = z
  .looseObject({
    quorum_pct: uint(100),
    total_weight: u64().meta({ description: "sum of the bundle's representative weights" }),
    online_weight: u64().meta({ description: 'weight of representatives heard from recently' }),
    representatives: uint(),
    online_representatives: uint(),
    confirmed_blocks: u64(),
    unconfirmed_blocks: u64().meta({ description: 'held, waiting for confirmation' }),
    open_conflicts: uint(),
  })
  .meta({ id: 'FinalityInfo', description: 'representative voting (SPEC §12)' });

export const NodeInfo = z
  .looseObject({
    name: z.string(),
    version: z.string(),
    network_id: z.string(),
    address: address(),
    peer_id: z.string(),
    roles: z.array(z.enum(NODE_ROLES)),
    peers: uint().meta({ description: 'connected peers' }),
    multiaddrs: z.array(z.string()),
    counts: z.looseObject({ blocks: uint(), accounts: uint(), leases: uint(), vms: uint() }),
    certificate: z
      .looseObject({ hash: hash(), expires_at: i64(), valid: z.boolean() })
      .nullable()
      .meta({ description: "this node's provider certificate; null when it has none" }),
    // XE's fields
    id: z.string().meta({ description: 'XE: the libp2p peer id' }),
    public_key: pubKey(),
    peer_count: uint(),
    pow_difficulty: z
      .string()
      .regex(/^(0|[0-9a-f]{16})$/)
      .meta({ description: 'XE: 16 lowercase hex chars, "0" when proof of work is off' }),
    lease_timing: LeaseTiming,
    // ours
    pow_algorithm: z.literal('blake3'),
    finality: FinalityInfo,
  })
  .meta({ id: 'NodeInfo' });

export const Health = z.looseObject({ status: z.literal('ok') }).meta({ id: 'Health' });

export const Readiness = z
  .looseObject({ ready: z.boolean(), synced: z.boolean(), peered: z.boolean(), timekeepers_reachable: z.boolean() })
  .meta({ id: 'Readiness' });

/** `GET /openapi.json`: an OpenAPI 3.1 document (described loosely; it describes itself). */
export const OpenApiDocumentSchema = z
  .looseObject({ openapi: z.string().regex(/^3\.1\.\d+$/), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) })
  .meta({ id: 'OpenApiDocument' });

// ---- accounts, blocks, certificates, conflicts

/**
 * An account's chain head: its newest block, applied but maybe not confirmed yet (SPEC §12).
 * What a client builds the account's next block on (`previous`, `balance`).
 */
export const AccountHead = z
  .looseObject({
    frontier: previous().meta({ description: 'the newest block of the chain, confirmed or not ("0": no blocks)' }),
    height: u64().meta({ description: 'the chain length' }),
    balances: perAsset().meta({ description: 'balances after the newest block: what the next block builds on' }),
  })
  .meta({ id: 'AccountHead' });

export const Account = z
  .looseObject({
    address: address(),
    balances: perAsset().meta({ description: "as the account's newest confirmed block left them" }),
    pending: perAsset().meta({ description: 'confirmed sends to the account that no confirmed receive took' }),
    frontier: previous().meta({ description: 'the newest confirmed block ("0" while none is confirmed)' }),
    block_count: uint().meta({ description: 'the height of the newest confirmed block' }),
    head: AccountHead,
  })
  .meta({ id: 'Account' });

export const Balance = z
  .looseObject({
    address: address(),
    balances: perAsset().meta({ description: "as the account's newest confirmed block left them" }),
    spendable: perAsset().meta({ description: 'per asset the smaller of the confirmed and the head balance: an unconfirmed debit is not spent twice' }),
    final_height: u64().meta({ description: "the height of the account's newest confirmed block (0: none)" }),
    head: AccountHead.optional().meta({ description: 'ours (an XE node does not send it); an xe-node always does' }),
  })
  .meta({ id: 'Balance' });

export const Chain = z
  .looseObject({
    address: address(),
    total: u64().meta({ description: 'the full chain length' }),
    blocks: z.array(StoredBlockSchema).meta({ description: 'newest first' }),
  })
  .meta({ id: 'Chain' });

export const PendingSend = z
  .looseObject({
    SendHash: hash(),
    Source: address().meta({ description: 'the sending account' }),
    Destination: address(),
    Amount: u64(),
    Asset: asset(),
  })
  .meta({ id: 'PendingSend', description: "XE's key spelling" });

export const Pending = z.looseObject({ address: address(), pending: z.array(PendingSend) }).meta({ id: 'Pending' });

export const Certificate = z
  .looseObject({
    provider: address(),
    provider_pub_key: pubKey(),
    score: u64(),
    price_multiplier_milli: u64(),
    issued_at: i64(),
    expires_at: i64(),
    signature: signature(),
    hash: hash(),
  })
  .meta({ id: 'Certificate', description: 'a provider performance certificate (SPEC §7)' });

export const Conflict = z
  .looseObject({
    account: address(),
    previous: z.string().regex(/^(0|[0-9a-f]{64})$/),
    kept: hash().meta({ description: 'the confirmed candidate' }),
    rejected: hash().meta({ description: 'the candidate dropped with its descendants' }),
    detected_at: i64(),
  })
  .meta({ id: 'Conflict' });

export const BlockAccepted = z
  .looseObject({ status: z.enum(['accepted', 'duplicate']), hash: hash() })
  .meta({ id: 'BlockAccepted', description: '201 accepted now, 200 already stored' });

// ---- events (GET /events, text/event-stream)

export const ConfirmedEvent = z.looseObject({ hash: hash(), account: address() }).meta({ id: 'ConfirmedEvent' });

/**
 * The events of `GET /events` and the JSON in each event's `data` line. `id:` carries a
 * decimal sequence number; a client resumes with `Last-Event-ID`. `reset`: the id asked
 * for is older than what the node keeps. `overflow`: the client fell too far behind; the
 * node closes the stream after it.
 */
export const EVENT_SCHEMAS = {
  block: StoredBlockSchema,
  confirmed: ConfirmedEvent,
  lease: Lease,
  vm: Vm,
  reset: z.looseObject({}),
  overflow: z.looseObject({}),
} as const;

export type EventName = keyof typeof EVENT_SCHEMAS;
export const EVENT_NAMES = Object.keys(EVENT_SCHEMAS) as EventName[];
