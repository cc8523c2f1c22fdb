import type { Duplex } from 'node:stream';
import { type BodyInput, type OperationId, type Query, type Reply, ROUTES_BY_ID, type RouteDef } from '@xe/api-contract';
import type { Block } from '@xe/core-types';
import { ClientErrorCodes, XeApiError } from './errors.js';
import { type EventsOptions, streamEvents, type XeEvent } from './events.js';
import { type CallInput, type CallOptions, call, type TransportOptions } from './transport.js';
import { openTunnel, type TunnelCredentials } from './tunnel.js';

export interface XeClientOptions {
  /** the node's API, e.g. `http://127.0.0.1:8080` */
  baseUrl: string;
  /** sent as `Authorization: Bearer …` on the operator routes only */
  operatorToken?: string;
  /** default deadline per call in ms (default 30 s; `requestLease` and `cancelLease` default to 30 min) */
  timeoutMs?: number;
  /** check every answer against the contract and throw INVALID_RESPONSE on a mismatch (default true) */
  validate?: boolean;
  /** largest answer body read, in bytes (default 32 MiB) */
  maxResponseBytes?: number;
  /** a fetch implementation (default: the global one) */
  fetch?: typeof fetch;
  /** extra headers on every request */
  headers?: Record<string, string>;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
/** `POST /lease/request` and a cancel wait for a confirmation (accept window + skew + 10 s in production). */
export const CONFIRMATION_TIMEOUT_MS = 30 * 60_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

type QueryInput<K extends OperationId> = { [P in keyof Query<K>]?: Query<K>[P] | string };

/**
 * A typed client of the xe-node HTTP API: one method per route of `@xe/api-contract`
 * (the method is the route's operationId). Answers are checked against the contract
 * and read with core-types' codec, so 64-bit fields are exact `bigint`s. Every failure
 * is an `XeApiError` with `status`, `code` and `retryable`.
 */
export class XeClient {
  private readonly transport: TransportOptions;

  constructor(options: XeClientOptions) {
    const url = new URL(options.baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new XeApiError(ClientErrorCodes.INVALID_FIELD, `baseUrl: expected http: or https:, got ${url.protocol}`, {
        status: 0,
        retryable: false,
        field: 'baseUrl',
      });
    }
    const fetchImpl = options.fetch ?? globalThis.fetch;
    this.transport = {
      baseUrl: options.baseUrl,
      operatorToken: options.operatorToken === '' ? undefined : options.operatorToken,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      validate: options.validate ?? true,
      maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      fetch: fetchImpl.bind(globalThis),
      headers: options.headers ?? {},
    };
  }

  /** Any route by operationId; the methods below are this with the inputs spelled out. */
  async request<K extends OperationId>(id: K, input: CallInput = {}, options: CallOptions = {}): Promise<Reply<K>> {
    const route = ROUTES_BY_ID[id] as RouteDef;
    const answer = await call(this.transport, route, input, options);
    return answer.value as Reply<K>;
  }

  private confirming(options: CallOptions): CallOptions {
    return options.timeoutMs === undefined && this.transport.timeoutMs === DEFAULT_TIMEOUT_MS ? { ...options, timeoutMs: CONFIRMATION_TIMEOUT_MS } : options;
  }

  // ---- node
  root(options?: CallOptions) {
    return this.request('root', {}, options);
  }
  node(options?: CallOptions) {
    return this.request('node', {}, options);
  }
  health(options?: CallOptions) {
    return this.request('health', {}, options);
  }
  /** 200 and 503 alike answer the readiness object; `ready` says which. */
  ready(options?: CallOptions) {
    return this.request('ready', {}, options);
  }
  /** Prometheus text. */
  async metrics(options?: CallOptions): Promise<string> {
    return (await this.request('metrics', {}, options)) as unknown as string;
  }
  openapi(options?: CallOptions) {
    return this.request('openapi', {}, options);
  }
  /** `GET /events` as an async iterator of checked events. */
  events(options?: EventsOptions): AsyncGenerator<XeEvent, void, undefined> {
    return streamEvents(this.transport, options);
  }

  // ---- leases
  listLeases(query: QueryInput<'listLeases'> = {}, options?: CallOptions) {
    return this.request('listLeases', { query }, options);
  }
  getLease(hash: string, options?: CallOptions) {
    return this.request('getLease', { params: { hash } }, options);
  }
  /** Waits for the confirmed accept. A 504 is `XeApiError` code ACCEPT_TIMEOUT with `lease_hash`. */
  requestLease(body: BodyInput<'requestLease'>, options: CallOptions = {}) {
    return this.request('requestLease', { body }, this.confirming(options));
  }
  /** A 409 before the window opens is `XeApiError` with `opens_at`. */
  cancelLease(hash: string, options: CallOptions = {}) {
    return this.request('cancelLease', { params: { hash } }, this.confirming(options));
  }
  listProviders(options?: CallOptions) {
    return this.request('listProviders', {}, options);
  }
  requestAttestation(leaseHash: string, options?: CallOptions) {
    return this.request('requestAttestation', { body: { lease_hash: leaseHash } }, options);
  }

  // ---- VMs and tunnels
  listVms(options?: CallOptions) {
    return this.request('listVms', {}, options);
  }
  getVm(leaseHash: string, options?: CallOptions) {
    return this.request('getVm', { params: { leaseHash } }, options);
  }
  exec(leaseHash: string, body: BodyInput<'exec'>, options?: CallOptions) {
    return this.request('exec', { params: { leaseHash }, body }, options);
  }
  /** The raw byte stream to the VM's SSH port (Node.js only). */
  openTunnel(leaseHash: string, credentials: TunnelCredentials, options?: CallOptions): Promise<Duplex> {
    return openTunnel(this.transport, leaseHash, credentials, options);
  }

  // ---- accounts
  getAccount(address: string, options?: CallOptions) {
    return this.request('getAccount', { params: { address } }, options);
  }
  getBalance(address: string, options?: CallOptions) {
    return this.request('getBalance', { params: { address } }, options);
  }
  getChain(address: string, query: QueryInput<'getChain'> = {}, options?: CallOptions) {
    return this.request('getChain', { params: { address }, query }, options);
  }
  getPending(address: string, options?: CallOptions) {
    return this.request('getPending', { params: { address } }, options);
  }

  // ---- blocks
  /** `{status: "accepted" | "duplicate", hash}`; a refusal is `XeApiError` (503 retryable, else 400). */
  submitBlock(block: Block | BodyInput<'submitBlock'>, options?: CallOptions) {
    return this.request('submitBlock', { body: block }, options);
  }
  /** XE's `POST /blocks/{type}`, the type taken from the block; answers the stored block. */
  submitTypedBlock(block: Block | BodyInput<'submitTypedBlock'>, options?: CallOptions) {
    return this.request('submitTypedBlock', { params: { type: String(block.type) }, body: block }, options);
  }
  recentBlocks(query: QueryInput<'recentBlocks'> = {}, options?: CallOptions) {
    return this.request('recentBlocks', { query }, options);
  }
  getBlock(hash: string, options?: CallOptions) {
    return this.request('getBlock', { params: { hash } }, options);
  }

  // ---- certificates, conflicts
  getCertificate(provider: string, options?: CallOptions) {
    return this.request('getCertificate', { params: { provider } }, options);
  }
  getCertificateByHash(hash: string, options?: CallOptions) {
    return this.request('getCertificateByHash', { params: { hash } }, options);
  }
  listConflicts(options?: CallOptions) {
    return this.request('listConflicts', {}, options);
  }
}
