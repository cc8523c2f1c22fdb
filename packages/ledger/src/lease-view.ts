import { type Lease, SETTLED_STATES } from '@xe/core-types';
import type { LeaseRecord } from './types.js';

/** The SPEC §11 lease object of a record. */
export function toApiLease(r: LeaseRecord): Lease {
  return {
    lease_hash: r.hash,
    consumer: r.consumer,
    provider: r.provider,
    vcpus: Number(r.vcpus),
    memory_mb: Number(r.memory_mb),
    disk_gb: Number(r.disk_gb),
    duration: Number(r.duration),
    access_pub_key: r.access_pub_key,
    cost: r.cost,
    stake: r.stake,
    start_time: r.state === 'created' || r.state === 'cancelled' ? 0n : r.start_time,
    certificate_hash: r.certificate_hash,
    settled: SETTLED_STATES.includes(r.state),
    state: r.state,
  };
}
