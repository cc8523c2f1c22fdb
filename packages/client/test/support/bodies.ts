import { createHash } from 'node:crypto';
import { stringifyJson } from '@xe/core-types';

export function hashOf(label: string): string {
  return createHash('sha256').update(label).digest('hex');
}

export const H = hashOf('lease');
export const ADDR = hashOf('account');
export const U64_MAX = 18446744073709551615n;
export const T = 1709500180000000001n;

/** Answer bodies as the node writes them (64-bit values printed exactly by the codec). */
export const lease = (state = 'accepted') => ({
  lease_hash: H,
  consumer: hashOf('consumer'),
  provider: hashOf('provider'),
  vcpus: 2,
  memory_mb: 1024,
  disk_gb: 10,
  duration: 3600,
  access_pub_key: hashOf('access'),
  cost: U64_MAX,
  stake: 9007199254740993n,
  start_time: T,
  certificate_hash: hashOf('cert'),
  settled: false,
  state,
});

export const sendBlock = () => ({
  type: 'send',
  account: ADDR,
  previous: hashOf('prev'),
  balance: U64_MAX,
  timestamp: T,
  asset: 'XUSD',
  destination: hashOf('dest'),
  amount: 1n,
  signature: 'cd'.repeat(64),
  hash: hashOf('block'),
  pow_nonce: 12345678901234567890n,
});

export const provider = () => ({
  address: hashOf('provider'),
  vcpus: 16,
  memory_mb: 65536,
  disk_gb: 1000,
  active_leases: 2,
  available_vcpus: 12,
  available_memory_mb: 61440,
  available_disk_gb: 980,
  account: hashOf('provider'),
  used_vcpus: 4,
  used_memory_mb: 4096,
  used_disk_gb: 20,
  total_leases: 9,
});

export const vm = () => ({ lease_hash: H, status: 'running', resources: { vcpus: 2, memory_mb: 1024, disk_gb: 10 }, created_at: T });

export const nodeInfo = () => ({
  name: 'xe-node',
  version: '0.1.0',
  network_id: 'devnet-1',
  address: ADDR,
  peer_id: '12D3KooWExamplePeer',
  roles: ['consumer', 'provider'],
  peers: 2,
  multiaddrs: ['/ip4/127.0.0.1/tcp/4001'],
  counts: { blocks: 42, accounts: 5, leases: 6, vms: 1 },
  certificate: null,
  id: '12D3KooWExamplePeer',
  public_key: hashOf('node key'),
  peer_count: 2,
  pow_difficulty: 'ffff000000000000',
  lease_timing: {
    min_duration_secs: 5,
    settle_grace_ns: 60000000000n,
    force_settle_gap_ns: 150000000000n,
    escrow_expiry_ns: 3600000000000n,
    archive_gap_ns: 600000000000n,
    max_attestation_skew_ns: 60000000000n,
  },
  pow_algorithm: 'blake3',
  finality: {
    quorum_pct: 60,
    total_weight: 3,
    online_weight: 3,
    representatives: 3,
    online_representatives: 3,
    confirmed_blocks: U64_MAX,
    unconfirmed_blocks: 0,
    open_conflicts: 0,
  },
});

export const certificate = () => ({
  provider: hashOf('provider'),
  provider_pub_key: hashOf('provider key'),
  score: 1234,
  price_multiplier_milli: 1000,
  issued_at: T,
  expires_at: T + 604800000000000n,
  signature: 'ef'.repeat(64),
  hash: hashOf('cert'),
});

export const text = (v: unknown) => stringifyJson(v);
