import { LEASES_PAGE_DEFAULT, LEASES_PAGE_MAX } from '@xe/core-types';
import { z } from 'zod';
import { BlockSchema, StoredBlockSchema, SUBMITTABLE_BLOCK_TYPES } from './blocks.js';
import {
  AcceptTimeoutErrorBody,
  Account,
  AttestationReply,
  AttestationRequest,
  Balance,
  BlockAccepted,
  CancelWindowErrorBody,
  Certificate,
  Chain,
  Conflict,
  ErrorBody,
  ExecRequest,
  ExecResult,
  Health,
  Lease,
  LeaseCancelled,
  LeaseRequest,
  LeaseRequested,
  LeaseState,
  NodeInfo,
  OpenApiDocumentSchema,
  Pending,
  Provider,
  Readiness,
  RootInfo,
  Vm,
} from './objects.js';
import type { ResponseDef, RouteDef } from './route.js';
import { address, hash, queryI64, queryInt, signature } from './scalars.js';

const json = <S extends z.ZodType>(description: string, schema: S) => ({ description, mediaType: 'application/json' as const, schema });
function error(description: string): { description: string; mediaType: 'application/json'; schema: typeof ErrorBody };
function error<S extends z.ZodType>(description: string, schema: S): { description: string; mediaType: 'application/json'; schema: S };
function error(description: string, schema: z.ZodType = ErrorBody): ResponseDef {
  return { description, mediaType: 'application/json', schema };
}

const hashParam = (name: string) => z.object({ [name]: hash() });
const pageQuery = () => ({
  offset: queryInt(0, Number.MAX_SAFE_INTEGER).optional(),
  limit: queryInt(1, LEASES_PAGE_MAX).optional().meta({ description: `default ${LEASES_PAGE_DEFAULT}, max ${LEASES_PAGE_MAX}` }),
});

const OPERATOR_ERRORS = {
  401: error('missing or wrong operator token (UNAUTHORIZED)'),
  403: error('no operator token configured on this node (OPERATOR_TOKEN_NOT_CONFIGURED)'),
} as const;

/**
 * Every route of SPEC §11 (the seed's table, the "More routes" table, and the operator
 * routes the node serves), in the order a router should register them: `/blocks/recent`
 * before `/blocks/{hash}`.
 */
export const ROUTE_DEFS = [
  // ---- node
  {
    method: 'GET',
    path: '/',
    operationId: 'root',
    summary: 'name, version, network, identity and the route list',
    origin: 'xe',
    responses: { 200: json('the node and its routes', RootInfo) },
    errors: {},
  },
  {
    method: 'GET',
    path: '/node',
    operationId: 'node',
    summary: 'peers, counts, roles, certificate, PoW difficulty, lease timing, finality',
    origin: 'xe',
    responses: { 200: json('node information', NodeInfo) },
    errors: {},
  },
  {
    method: 'GET',
    path: '/health',
    operationId: 'health',
    summary: 'liveness: 200 while the process serves HTTP',
    origin: 'ours',
    responses: { 200: json('alive', Health) },
    errors: {},
  },
  {
    method: 'GET',
    path: '/ready',
    operationId: 'ready',
    summary: 'readiness: synced, peered, timekeepers reachable',
    origin: 'ours',
    responses: { 200: json('ready', Readiness), 503: json('not ready (the same body)', Readiness) },
    errors: {},
  },
  {
    method: 'GET',
    path: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus text: node and HTTP metrics',
    origin: 'ours',
    responses: { 200: { description: 'Prometheus exposition format 0.0.4', mediaType: 'text/plain' } },
    errors: {},
  },
  {
    method: 'GET',
    path: '/openapi.json',
    operationId: 'openapi',
    summary: 'this document: OpenAPI 3.1 of every route, generated from the route definitions',
    origin: 'ours',
    responses: { 200: json('the OpenAPI document', OpenApiDocumentSchema) },
    errors: {},
  },
  {
    method: 'GET',
    path: '/events',
    operationId: 'events',
    summary: 'Server-Sent Events: block, confirmed, lease, vm (and reset, overflow)',
    description:
      'text/event-stream. Each event has `id:` (a decimal sequence number), `event:` (block | confirmed | lease | vm | reset | overflow) and one `data:` line of JSON: block → a stored block with `confirmed`; confirmed → {hash, account}; lease → a lease object; vm → a VM object; reset → {} (the id asked for is older than what the node keeps); overflow → {} (the client fell behind; the node closes the stream). Send `Last-Event-ID` to resume.',
    origin: 'ours',
    headers: z.object({ 'last-event-id': z.string().regex(/^[0-9]{1,20}$/).optional() }),
    responses: { 200: { description: 'an open event stream', mediaType: 'text/event-stream' } },
    errors: {},
  },
  // ---- leases
  {
    method: 'GET',
    path: '/leases',
    operationId: 'listLeases',
    summary: 'leases, oldest first',
    origin: 'seed',
    query: z.object({ state: LeaseState.optional(), ...pageQuery() }),
    responses: { 200: json('a page of leases', z.array(Lease)) },
    errors: { 400: error('bad filter (INVALID_QUERY)') },
  },
  {
    method: 'GET',
    path: '/leases/{hash}',
    operationId: 'getLease',
    summary: 'one lease',
    origin: 'seed',
    params: hashParam('hash'),
    responses: { 200: json('the lease', Lease) },
    errors: { 400: error('malformed hash'), 404: error('lease not found (LEASE_NOT_FOUND)') },
  },
  {
    method: 'POST',
    path: '/lease/request',
    operationId: 'requestLease',
    summary: 'lease resources from the cheapest provider; answers once the accept is confirmed',
    origin: 'seed',
    auth: 'operator',
    body: LeaseRequest,
    responses: { 200: json('the accepted lease', LeaseRequested) },
    errors: {
      400: error('invalid request, insufficient XUSD (INSUFFICIENT_BALANCE) or no providers (NO_PROVIDERS)'),
      ...OPERATOR_ERRORS,
      504: error('no confirmed accept in time (ACCEPT_TIMEOUT); the lease exists and will be cancelled', AcceptTimeoutErrorBody),
    },
  },
  {
    method: 'POST',
    path: '/leases/{hash}/cancel',
    operationId: 'cancelLease',
    summary: "cancel this node's unaccepted lease once the attested cancel is confirmed",
    origin: 'ours',
    auth: 'operator',
    params: hashParam('hash'),
    body: z.strictObject({}),
    bodyOptional: true,
    responses: { 200: json('cancelled', LeaseCancelled) },
    errors: {
      400: error('malformed hash or body'),
      401: OPERATOR_ERRORS[401],
      403: error("no operator token configured, or not this node's own lease"),
      404: error('lease not found (LEASE_NOT_FOUND)'),
      409: error('the cancel window is not open yet, or the lease is past `created`', CancelWindowErrorBody),
    },
  },
  {
    method: 'GET',
    path: '/providers',
    operationId: 'listProviders',
    summary: 'providers with a live advertisement and their free capacity',
    origin: 'seed',
    responses: { 200: json('providers', z.array(Provider)) },
    errors: {},
  },
  {
    method: 'POST',
    path: '/attestation/request',
    operationId: 'requestAttestation',
    summary: "a timekeeper's signature of a lease's current time",
    origin: 'seed',
    body: AttestationRequest,
    responses: { 200: json('the attestation', AttestationReply) },
    errors: {
      400: error('invalid hash'),
      404: error('lease not found (LEASE_NOT_FOUND, or UNKNOWN_LEASE from the timekeeper)'),
      409: error("the lease's state allows no attestation now (LEASE_NOT_ATTESTABLE; retryable with opens_at while a created lease waits for its cancel window)"),
      503: error('timekeeper unavailable (TIMEKEEPER_UNAVAILABLE)'),
    },
  },
  // ---- VMs and tunnels
  {
    method: 'GET',
    path: '/vms',
    operationId: 'listVms',
    summary: "this node's lease VMs",
    origin: 'seed',
    responses: { 200: json('VMs', z.array(Vm)) },
    errors: {},
  },
  {
    method: 'GET',
    path: '/vms/{leaseHash}',
    operationId: 'getVm',
    summary: 'one VM',
    origin: 'seed',
    params: hashParam('leaseHash'),
    responses: { 200: json('the VM', Vm) },
    errors: { 400: error('malformed hash'), 404: error('VM not found (VM_NOT_FOUND)') },
  },
  {
    method: 'POST',
    path: '/vms/{leaseHash}/exec',
    operationId: 'exec',
    summary: 'run `sh -c command` in the VM; output capped at 1 MiB per stream',
    origin: 'seed',
    auth: 'operator',
    params: hashParam('leaseHash'),
    body: ExecRequest,
    responses: { 200: json('the command ran', ExecResult) },
    errors: { 400: error('missing command'), ...OPERATOR_ERRORS, 404: error('VM not found (VM_NOT_FOUND)') },
  },
  {
    method: 'POST',
    path: '/tunnel/{leaseHash}/tcp',
    operationId: 'openTunnel',
    summary: 'with Connection: Upgrade and Upgrade: tcp: 101, then raw bytes to the VM SSH port',
    description:
      "X-Signature = Ed25519 by the lease's access_pub_key over SHA-256(\"xe/tunnel/v1\" || lease_hash bytes || u64(X-Timestamp)); accepted once.",
    origin: 'seed',
    auth: 'signature',
    params: hashParam('leaseHash'),
    headers: z.object({
      'x-timestamp': z.string().regex(/^[0-9]{1,19}$/).meta({ description: 'unix ns, within the skew' }),
      'x-signature': signature(),
    }),
    responses: { 101: { description: 'Switching Protocols (Upgrade: tcp); then raw bytes both ways' } },
    errors: {
      400: error('malformed hash'),
      401: error('missing or stale signature (TUNNEL_AUTH_MISSING, TUNNEL_TIMESTAMP_STALE)'),
      403: error('bad or replayed signature (TUNNEL_SIGNATURE_INVALID, TUNNEL_SIGNATURE_REPLAYED)'),
      404: error('unknown lease (LEASE_NOT_FOUND)'),
      410: error('lease not accepted (LEASE_NOT_ACCEPTED)'),
      426: error('a plain request with good credentials: send it as an upgrade (UPGRADE_REQUIRED)'),
      502: error('provider unreachable (PROVIDER_UNREACHABLE)'),
    },
  },
  // ---- accounts
  {
    method: 'GET',
    path: '/accounts/{address}',
    operationId: 'getAccount',
    summary: 'the account at its newest confirmed block (balances, pending, frontier, block count) and its head',
    description:
      'Balances, pending, frontier and block_count come from confirmed blocks (SPEC §12); `head` is the chain as applied, confirmed or not (frontier, height, balances): build the next block on `head`.',
    origin: 'ours',
    params: z.object({ address: address() }),
    responses: { 200: json('the account', Account) },
    errors: { 400: error('malformed address'), 404: error('the account has no blocks (ACCOUNT_NOT_FOUND)') },
  },
  {
    method: 'GET',
    path: '/accounts/{address}/balance',
    operationId: 'getBalance',
    summary: 'confirmed balances, spendable balances, the confirmed height and the head',
    description:
      'Balances and final_height come from confirmed blocks (SPEC §12); `head` is the chain as applied, confirmed or not: build the next block on `head`. An account with no blocks answers 200 with zeros (head frontier "0").',
    origin: 'xe',
    params: z.object({ address: address() }),
    responses: { 200: json('the balance', Balance) },
    errors: { 400: error('malformed address') },
  },
  {
    method: 'GET',
    path: '/accounts/{address}/chain',
    operationId: 'getChain',
    summary: "the account's blocks, newest first, each with `confirmed`",
    origin: 'xe',
    params: z.object({ address: address() }),
    query: z.object(pageQuery()),
    responses: { 200: json('a page of the chain', Chain) },
    errors: { 400: error('malformed address or query') },
  },
  {
    method: 'GET',
    path: '/pending/{address}',
    operationId: 'getPending',
    summary: 'confirmed sends the account has not received yet (XE key spelling)',
    origin: 'xe',
    params: z.object({ address: address() }),
    responses: { 200: json('pending sends', Pending) },
    errors: { 400: error('malformed address') },
  },
  // ---- blocks
  {
    method: 'POST',
    path: '/blocks',
    operationId: 'submitBlock',
    summary: 'submit a signed block: 201 accepted, 200 already stored',
    origin: 'ours',
    body: BlockSchema,
    responses: { 201: json('stored now', BlockAccepted), 200: json('already stored', BlockAccepted) },
    errors: {
      400: error('refused: malformed or invalid (retryable false)'),
      503: error('refused for now: a dependency is missing (retryable true)'),
    },
  },
  {
    method: 'GET',
    path: '/blocks/recent',
    operationId: 'recentBlocks',
    summary: 'the newest blocks across the lattice, newest first',
    origin: 'xe',
    query: z.object({
      limit: queryInt(1, LEASES_PAGE_MAX).optional().meta({ description: `default ${LEASES_PAGE_DEFAULT}, max ${LEASES_PAGE_MAX}` }),
      since: queryI64().optional().meta({ description: 'only blocks with a timestamp after this (unix ns; XE)' }),
    }),
    responses: { 200: json('blocks', z.array(StoredBlockSchema)) },
    errors: { 400: error('bad query (INVALID_QUERY)') },
  },
  {
    method: 'GET',
    path: '/blocks/{hash}',
    operationId: 'getBlock',
    summary: 'one block and whether it is confirmed',
    origin: 'xe',
    params: hashParam('hash'),
    responses: { 200: json('the block', StoredBlockSchema) },
    errors: { 400: error('malformed hash'), 404: error('unknown block (BLOCK_NOT_FOUND)') },
  },
  {
    method: 'POST',
    path: '/blocks/{type}',
    operationId: 'submitTypedBlock',
    summary: "submit a signed block of the path's type (XE); the same admission as POST /blocks",
    description:
      'A body whose `type` differs from the path → 400 `block type mismatch`. A missing `pow_nonce` reads as 0. 201 with the stored block; 200 with it when it was stored before.',
    origin: 'xe',
    params: z.object({ type: z.enum(SUBMITTABLE_BLOCK_TYPES) }),
    body: BlockSchema,
    responses: { 201: json('stored now: the block as stored', StoredBlockSchema), 200: json('already stored', StoredBlockSchema) },
    errors: {
      400: error('refused: type mismatch, malformed or invalid (retryable false)'),
      503: error('refused for now: a dependency is missing (retryable true)'),
    },
  },
  // ---- certificates
  {
    method: 'GET',
    path: '/certificate/{provider}',
    operationId: 'getCertificate',
    summary: "the provider's newest unexpired certificate",
    origin: 'xe',
    params: z.object({ provider: address() }),
    responses: { 200: json('the certificate', Certificate) },
    errors: { 400: error('malformed address'), 404: error('none (CERTIFICATE_NOT_FOUND)') },
  },
  {
    method: 'GET',
    path: '/certificate/hash/{hash}',
    operationId: 'getCertificateByHash',
    summary: 'a certificate by its hash, expired ones included',
    origin: 'xe',
    params: hashParam('hash'),
    responses: { 200: json('the certificate', Certificate) },
    errors: { 400: error('malformed hash'), 404: error('none (CERTIFICATE_NOT_FOUND)') },
  },
  {
    method: 'GET',
    path: '/conflicts',
    operationId: 'listConflicts',
    summary: 'forks seen: the candidate confirmed and the one dropped',
    origin: 'ours',
    responses: { 200: json('conflicts', z.array(Conflict)) },
    errors: {},
  },
] as const satisfies readonly RouteDef[];

export type Route = (typeof ROUTE_DEFS)[number];
export type RouteKey = `${Route['method']} ${Route['path']}`;
export type OperationId = Route['operationId'];
export type RouteOf<K extends OperationId> = Extract<Route, { operationId: K }>;

/** Every route as `"METHOD /path"`, in registration order: what the server must serve, exactly. */
export const ROUTES: readonly RouteKey[] = ROUTE_DEFS.map((r) => `${r.method} ${r.path}` as RouteKey);

/** Routes by operationId (the client's method names). */
export const ROUTES_BY_ID = Object.fromEntries(ROUTE_DEFS.map((r) => [r.operationId, r])) as { [K in OperationId]: RouteOf<K> };

/** Statuses every route may answer with an error body besides its own (`413` only with a body). */
export const COMMON_ERRORS: Readonly<Record<number, ResponseDef>> = {
  413: error('body over 1 MiB (BODY_TOO_LARGE)'),
  429: error('rate limited (RATE_LIMITED); see Retry-After'),
  500: error('internal error (INTERNAL)'),
};

/** The error body schema for a route's status: its own, or the common one. */
export function errorSchema(route: RouteDef, status: number): z.ZodType {
  return (route.errors[status]?.schema ?? ErrorBody) as z.ZodType;
}

