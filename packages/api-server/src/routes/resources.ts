import { type Block, type JsonValue, parseBlock, XeError } from '@xe/core-types';
import { ApiError, ApiErrorCodes, errorReply } from '../errors.js';
import { clientIp, json } from '../http.js';
import type { ApiContext, Handlers, RouteContext } from './types.js';

export const providerHandlers = {
  listProviders: async (c, { deps }) => json(c, await deps.listProviders()),

  requestAttestation: async (c, { deps }, { body }) => {
    const a = await deps.requestAttestation(body.lease_hash, { signal: c.req.raw.signal, requester: clientIp(c) });
    return json(c, { public_key: a.public_key, timestamp: a.timestamp, signature: a.signature });
  },
} satisfies Partial<Handlers>;

export const vmHandlers = {
  listVms: async (c, { deps }) => json(c, await deps.listVms()),

  getVm: async (c, { deps }, { params }) => {
    const vm = await deps.getVm(params.leaseHash);
    if (vm === undefined) throw new XeError(ApiErrorCodes.VM_NOT_FOUND, `no VM for lease ${params.leaseHash}`);
    return json(c, vm);
  },

  exec: async (c, { deps }, { params, body }) => {
    const signal = c.req.raw.signal;
    const opts = body.timeout_ms === undefined ? { signal } : { signal, timeoutMs: body.timeout_ms };
    return json(c, await deps.execVm(params.leaseHash, body.command, opts));
  },

  // Real upgrades are answered by the server's `upgrade` handler; a plain request gets
  // the same checks (without spending the signature) and then 426.
  openTunnel: async (c, { tunnelAuth }, { params }) => {
    await tunnelAuth.check(params.leaseHash, c.req.header('x-timestamp'), c.req.header('x-signature'), false);
    c.header('Upgrade', 'tcp');
    c.header('Connection', 'Upgrade');
    throw new XeError(ApiErrorCodes.UPGRADE_REQUIRED, 'send this request with "Connection: Upgrade" and "Upgrade: tcp"');
  },
} satisfies Partial<Handlers>;

export const accountHandlers = {
  getAccount: async (c, { deps }, { params }) => {
    const account = await deps.account(params.address);
    if (account === undefined) throw new XeError(ApiErrorCodes.ACCOUNT_NOT_FOUND, `account ${params.address} has no blocks`);
    return json(c, account);
  },

  getBalance: async (c, { deps }, { params }) => json(c, await deps.balance(params.address)),

  getChain: async (c, { deps }, { params, query }) => {
    const page = await deps.chain(params.address, { offset: query.offset ?? 0, limit: query.limit ?? 100 });
    return json(c, { address: page.address, total: page.total, blocks: page.blocks });
  },

  getPending: async (c, { deps }, { params }) => json(c, { address: params.address, pending: await deps.pending(params.address) }),

  getCertificate: async (c, { deps }, { params }) => {
    const cert = await deps.certificateOf(params.provider);
    if (cert === undefined) throw new XeError(ApiErrorCodes.CERTIFICATE_NOT_FOUND, `provider ${params.provider} has no unexpired certificate`);
    return json(c, cert);
  },

  getCertificateByHash: async (c, { deps }, { params }) => {
    const cert = await deps.certificateByHash(params.hash);
    if (cert === undefined) throw new XeError(ApiErrorCodes.CERTIFICATE_NOT_FOUND, `no certificate ${params.hash}`);
    return json(c, cert);
  },

  listConflicts: async (c, { deps }) => json(c, await deps.conflicts()),
} satisfies Partial<Handlers>;

/**
 * Admits a block read from a request. A rejection is `{error, code, retryable}`: 503 when
 * retrying later may succeed (a dependency is missing), else 400. Coded throws of the node
 * are answered the same way; uncoded ones stay 500.
 */
async function admit(c: ApiContext, { deps, log }: RouteContext, raw: JsonValue | undefined, answer: (block: Block, accepted: boolean) => Promise<Response>): Promise<Response> {
  try {
    const block = parseBlock(raw);
    const result = await deps.submitBlock(block, { signal: c.req.raw.signal });
    if (result.status === 'rejected') {
      log.debug('block refused', { code: result.code, retryable: result.retryable });
      return json(c, { error: result.message, code: result.code, retryable: result.retryable }, result.retryable ? 503 : 400);
    }
    return await answer(block, result.status === 'accepted');
  } catch (err) {
    if (!(err instanceof XeError) || errorReply(err).status === 413 || err.code === ApiErrorCodes.INTERNAL) throw err;
    log.debug('block refused', { code: err.code, retryable: err.retryable });
    return json(c, { error: err.message, code: err.code, retryable: err.retryable }, err.retryable ? 503 : 400);
  }
}

export const blockHandlers = {
  submitBlock: (c, x, { raw }) => admit(c, x, raw, async (block, accepted) => json(c, { status: accepted ? 'accepted' : 'duplicate', hash: block.hash }, accepted ? 201 : 200)),

  submitTypedBlock: (c, x, { raw }) =>
    admit(c, x, raw, async (block, accepted) => {
      // The block as stored; one the ledger holds for its votes (not stored yet) is answered as submitted, unconfirmed.
      const stored = (await x.deps.getBlock(block.hash)) ?? { ...block, confirmed: false };
      return json(c, stored, accepted ? 201 : 200);
    }),

  recentBlocks: async (c, { deps }, { query }) =>
    json(c, await deps.recentBlocks({ limit: query.limit ?? 100, ...(query.since === undefined ? {} : { since: query.since }) })),

  getBlock: async (c, { deps }, { params }) => {
    const block = await deps.getBlock(params.hash);
    if (block === undefined) throw new XeError(ApiErrorCodes.BLOCK_NOT_FOUND, `block ${params.hash} not found`);
    return json(c, block);
  },
} satisfies Partial<Handlers>;

/**
 * `POST /blocks/{type}` (XE): a body whose `type` differs from the path is refused before
 * anything else; a missing `pow_nonce` reads as 0.
 */
export function prepareTypedBlock(raw: JsonValue, params: Record<string, string>): JsonValue {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const type = params.type;
  if (raw.type !== undefined && raw.type !== type) {
    const said = typeof raw.type === 'string' ? raw.type.slice(0, 40) : typeof raw.type;
    throw new ApiError(ApiErrorCodes.BLOCK_TYPE_MISMATCH, `block type mismatch: the path says ${type}, the body says ${said}`, { field: 'type' });
  }
  return raw.pow_nonce === undefined ? { ...raw, type: type ?? null, pow_nonce: 0n } : { ...raw, type: type ?? null };
}
