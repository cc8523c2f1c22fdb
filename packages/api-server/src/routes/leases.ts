import { fields, XeError } from '@xe/core-types';
import { ApiErrorCodes } from '../errors.js';
import { json, readJsonBody, readOptionalJsonBody } from '../http.js';
import { parseLeaseQuery, parseLeaseRequest, pathHash } from '../validate.js';
import type { RouteDef } from './types.js';

export const leaseRoutes = [
  {
    method: 'GET',
    path: '/leases',
    description: 'leases, oldest first; ?state=&offset=&limit= (default 100, max 1000)',
    handler: async (c, { deps }) => json(c, await deps.listLeases(parseLeaseQuery(c.req.url))),
  },
  {
    method: 'GET',
    path: '/leases/{hash}',
    description: 'one lease',
    handler: async (c, { deps }) => {
      const hash = pathHash(c.req.param('hash') ?? '', 'hash');
      const lease = await deps.getLease(hash);
      if (lease === undefined) throw new XeError(ApiErrorCodes.LEASE_NOT_FOUND, `lease ${hash} not found`);
      return json(c, lease);
    },
  },
  {
    method: 'POST',
    path: '/lease/request',
    auth: 'operator',
    description: 'lease resources from the cheapest provider; answers once the lease is accepted',
    handler: async (c, { deps }) => {
      const request = parseLeaseRequest(await readJsonBody(c.req.raw), deps.network());
      const { lease_hash } = await deps.requestLease(request, { signal: c.req.raw.signal });
      return json(c, { lease_hash });
    },
  },
  {
    method: 'POST',
    path: '/leases/{hash}/cancel',
    auth: 'operator',
    description: 'cancel an unaccepted lease of this node once the cancel window is open',
    handler: async (c, { deps }) => {
      const hash = pathHash(c.req.param('hash') ?? '', 'hash');
      const body = await readOptionalJsonBody(c.req.raw);
      if (body !== undefined) fields.onlyFields(fields.expectObject(body, 'body'), new Set(), 'a cancel request (it takes no body, or {})');
      return json(c, await deps.cancelLease(hash, { signal: c.req.raw.signal }));
    },
  },
] as const satisfies readonly RouteDef[];
