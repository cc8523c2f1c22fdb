import { parseBlock, XeError } from '@xe/core-types';
import { ApiErrorCodes, errorReply } from '../errors.js';
import { clientIp, json, readJsonBody } from '../http.js';
import { parseAttestationRequest, parseExecRequest, pathHash } from '../validate.js';
import type { RouteDef } from './types.js';

export const providerRoutes = [
  {
    method: 'GET',
    path: '/providers',
    description: 'providers with a live advertisement, and their free capacity',
    handler: async (c, { deps }) => json(c, await deps.listProviders()),
  },
] as const satisfies readonly RouteDef[];

export const attestationRoutes = [
  {
    method: 'POST',
    path: '/attestation/request',
    description: "this node's timekeeper signature of a lease's current time",
    handler: async (c, { deps }) => {
      const leaseHash = parseAttestationRequest(await readJsonBody(c.req.raw));
      const a = await deps.requestAttestation(leaseHash, { signal: c.req.raw.signal, requester: clientIp(c) });
      return json(c, { public_key: a.public_key, timestamp: a.timestamp, signature: a.signature });
    },
  },
] as const satisfies readonly RouteDef[];

export const vmRoutes = [
  {
    method: 'GET',
    path: '/vms',
    description: "this node's lease VMs",
    handler: async (c, { deps }) => json(c, await deps.listVms()),
  },
  {
    method: 'GET',
    path: '/vms/{leaseHash}',
    description: 'one VM',
    handler: async (c, { deps }) => {
      const hash = pathHash(c.req.param('leaseHash') ?? '', 'leaseHash');
      const vm = await deps.getVm(hash);
      if (vm === undefined) throw new XeError(ApiErrorCodes.VM_NOT_FOUND, `no VM for lease ${hash}`);
      return json(c, vm);
    },
  },
  {
    method: 'POST',
    path: '/vms/{leaseHash}/exec',
    auth: 'operator',
    description: 'run `sh -c command` in the VM; output capped at 1 MiB per stream',
    handler: async (c, { deps }) => {
      const hash = pathHash(c.req.param('leaseHash') ?? '', 'leaseHash');
      const req = parseExecRequest(await readJsonBody(c.req.raw));
      const opts = req.timeout_ms === undefined ? { signal: c.req.raw.signal } : { signal: c.req.raw.signal, timeoutMs: req.timeout_ms };
      return json(c, await deps.execVm(hash, req.command, opts));
    },
  },
] as const satisfies readonly RouteDef[];

export const tunnelRoutes = [
  {
    method: 'POST',
    path: '/tunnel/{leaseHash}/tcp',
    description: 'with Upgrade: tcp, X-Timestamp and X-Signature: 101, then raw bytes to the VM SSH port',
    // Real upgrades are answered by the server's `upgrade` handler; a plain request gets
    // the same checks (without spending the signature) and then 426.
    handler: async (c, { tunnelAuth }) => {
      const hash = pathHash(c.req.param('leaseHash') ?? '', 'leaseHash');
      await tunnelAuth.check(hash, c.req.header('x-timestamp'), c.req.header('x-signature'), false);
      c.header('Upgrade', 'tcp');
      c.header('Connection', 'Upgrade');
      throw new XeError(ApiErrorCodes.UPGRADE_REQUIRED, 'send this request with "Connection: Upgrade" and "Upgrade: tcp"');
    },
  },
] as const satisfies readonly RouteDef[];

export const accountRoutes = [
  {
    method: 'GET',
    path: '/accounts/{address}',
    description: 'balances and pending per asset, frontier, block count',
    handler: async (c, { deps }) => {
      const address = pathHash(c.req.param('address') ?? '', 'address');
      const account = await deps.account(address);
      if (account === undefined) throw new XeError(ApiErrorCodes.ACCOUNT_NOT_FOUND, `account ${address} has no blocks`);
      return json(c, account);
    },
  },
] as const satisfies readonly RouteDef[];

export const blockRoutes = [
  {
    method: 'POST',
    path: '/blocks',
    description: 'submit a signed block: 201 accepted, 200 already known; errors carry `retryable`',
    handler: async (c, { deps, log }) => {
      try {
        const block = parseBlock(await readJsonBody(c.req.raw));
        const result = await deps.submitBlock(block, { signal: c.req.raw.signal });
        if (result.status === 'rejected') {
          log.debug('block refused', { code: result.code, retryable: result.retryable });
          return json(c, { error: result.message, code: result.code, retryable: result.retryable }, result.retryable ? 503 : 400);
        }
        return json(c, { status: result.status, hash: result.hash }, result.status === 'accepted' ? 201 : 200);
      } catch (err) {
        // A coded failure to read the block (or a coded throw of the node) is the client's to
        // see: 503 when retrying later may succeed, else 400. Uncoded failures stay 500, an
        // oversize body 413.
        if (!(err instanceof XeError) || errorReply(err).status === 413 || err.code === ApiErrorCodes.INTERNAL) throw err;
        const retryable = err.retryable;
        log.debug('block refused', { code: err.code, retryable });
        return json(c, { error: err.message, code: err.code, retryable }, retryable ? 503 : 400);
      }
    },
  },
] as const satisfies readonly RouteDef[];

export const conflictRoutes = [
  {
    method: 'GET',
    path: '/conflicts',
    description: 'forks seen: the block kept and the one rejected',
    handler: async (c, { deps }) => json(c, await deps.conflicts()),
  },
] as const satisfies readonly RouteDef[];
