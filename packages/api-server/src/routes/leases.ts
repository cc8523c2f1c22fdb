import { LEASES_PAGE_DEFAULT, XeError } from '@xe/core-types';
import { ApiErrorCodes } from '../errors.js';
import { json } from '../http.js';
import { checkDuration } from '../validate.js';
import type { Handlers } from './types.js';

export const leaseHandlers = {
  listLeases: async (c, { deps }, { query }) =>
    json(c, await deps.listLeases({ ...(query.state === undefined ? {} : { state: query.state }), offset: query.offset ?? 0, limit: query.limit ?? LEASES_PAGE_DEFAULT })),

  getLease: async (c, { deps }, { params }) => {
    const lease = await deps.getLease(params.hash);
    if (lease === undefined) throw new XeError(ApiErrorCodes.LEASE_NOT_FOUND, `lease ${params.hash} not found`);
    return json(c, lease);
  },

  requestLease: async (c, { deps }, { body }) => {
    // XE: a missing vcpus, memory_mb or disk_gb reads as 0 (the schema checked that one is non-zero).
    checkDuration(body.duration, deps.network());
    const request = { vcpus: body.vcpus ?? 0, memory_mb: body.memory_mb ?? 0, disk_gb: body.disk_gb ?? 0, duration: body.duration, access_pub_key: body.access_pub_key };
    const { lease_hash } = await deps.requestLease(request, { signal: c.req.raw.signal });
    return json(c, { lease_hash });
  },

  cancelLease: async (c, { deps }, { params }) => json(c, await deps.cancelLease(params.hash, { signal: c.req.raw.signal })),
} satisfies Partial<Handlers>;
