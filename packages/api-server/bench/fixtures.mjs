// Bench fixtures: 10,000 lease objects shaped like the API's, and a minimal ApiDeps over them.
import { createHash } from 'node:crypto';
import { DEFAULT_LEASE_PARAMS, LEASE_STATES, SETTLED_STATES, XeError } from '@xe/core-types';

const h = (s) => createHash('sha256').update(s).digest('hex');

export const LEASE_COUNT = 10_000;

export function makeLeases(n = LEASE_COUNT) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const state = LEASE_STATES[i % LEASE_STATES.length];
    out.push({
      lease_hash: h(`lease ${i}`),
      consumer: h(`consumer ${i % 50}`),
      provider: h(`provider ${i % 5}`),
      vcpus: 1 + (i % 8),
      memory_mb: 1024 * (1 + (i % 4)),
      disk_gb: 10,
      duration: 3600,
      access_pub_key: h(`key ${i}`),
      cost: 960000n + BigInt(i),
      stake: 192000n,
      start_time: 1709500180000000001n + BigInt(i),
      certificate_hash: h(`cert ${i % 5}`),
      settled: SETTLED_STATES.includes(state),
      state,
    });
  }
  return out;
}

/** Enough of ApiDeps for GET /leases; the other reads answer empty, writes refuse. */
export function benchDeps(leases) {
  const refuse = async () => {
    throw new XeError('NOT_READY', 'bench node');
  };
  return {
    network: () => ({ network_id: 'bench', pow_difficulty: 0n, timekeepers: { keys: [h('tk')], threshold: 1 }, lease: DEFAULT_LEASE_PARAMS }),
    nodeInfo: () => ({
      name: 'xe-node', version: '0.1.0', network_id: 'bench', address: h('node'), peer_id: 'bench', roles: ['consumer'],
      peers: 0, multiaddrs: [], counts: { blocks: 0, accounts: 0, leases: leases.length, vms: 0 }, certificate: null,
    }),
    readiness: async () => ({ synced: true, peered: true, timekeepers_reachable: true, ready: true }),
    listLeases: async (q) => (q.state === undefined ? leases : leases.filter((l) => l.state === q.state)).slice(q.offset, q.offset + q.limit),
    getLease: async (hash) => leases.find((l) => l.lease_hash === hash),
    listProviders: async () => [],
    requestLease: refuse,
    cancelLease: refuse,
    requestAttestation: refuse,
    listVms: async () => [],
    getVm: async () => undefined,
    execVm: refuse,
    openTunnel: refuse,
    account: async () => undefined,
    submitBlock: refuse,
    conflicts: async () => [],
    metrics: () => '',
  };
}
