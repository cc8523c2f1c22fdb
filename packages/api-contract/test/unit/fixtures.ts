import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseJson, stringifyJson } from '@xe/core-types';

export const VECTORS = new URL('../../../../../shared/vectors/', import.meta.url);

export function vector(name: string): unknown {
  return parseJson(readFileSync(new URL(name, VECTORS), 'utf8'));
}

export function hashOf(label: string): string {
  return createHash('sha256').update(label).digest('hex');
}

/** What a value looks like after the wire: printed and read back by core-types' codec. */
export function wire(value: unknown): unknown {
  return parseJson(stringifyJson(value));
}

export const U64_MAX_TEXT = '18446744073709551615';
export const START_TIME = 1709500180000000001n;

// The shapes below are today's answers of @xe/api-server (its test/support/fake-deps.ts and
// test/unit/routes.test.ts), plus the fields SPEC §11's "More routes" table adds.

export function lease(state = 'accepted'): Record<string, unknown> {
  return {
    lease_hash: hashOf('lease 1'),
    consumer: hashOf('consumer 1'),
    provider: hashOf('provider 1'),
    vcpus: 2,
    memory_mb: 1024,
    disk_gb: 10,
    duration: 3600,
    access_pub_key: hashOf('access key'),
    cost: 18446744073709551615n,
    stake: 9007199254740993n,
    start_time: state === 'created' ? 0n : START_TIME,
    certificate_hash: hashOf('cert 1'),
    settled: false,
    state,
  };
}

/** `GET /providers` entry as api-server answers it today. */
export function seedProvider(): Record<string, unknown> {
  return {
    address: hashOf('provider 0'),
    vcpus: 16,
    memory_mb: 65536,
    disk_gb: 1000,
    active_leases: 2,
    available_vcpus: 12,
    available_memory_mb: 61440,
    available_disk_gb: 980,
  };
}

export function provider(): Record<string, unknown> {
  return { ...seedProvider(), account: hashOf('provider 0'), used_vcpus: 4, used_memory_mb: 4096, used_disk_gb: 20, total_leases: 9 };
}

/** `GET /node` as api-server answers it today. */
export function seedNodeInfo(): Record<string, unknown> {
  return {
    name: 'xe-node',
    version: '0.1.0',
    network_id: 'testnet-1',
    address: hashOf('node address'),
    peer_id: '12D3KooWExamplePeer',
    roles: ['consumer', 'provider'],
    peers: 3,
    multiaddrs: ['/ip4/127.0.0.1/tcp/4001'],
    counts: { blocks: 42, accounts: 5, leases: 6, vms: 1 },
    certificate: { hash: hashOf('cert 0'), expires_at: START_TIME + 604800000000000n, valid: true },
  };
}

export function nodeInfo(): Record<string, unknown> {
  return {
    ...seedNodeInfo(),
    id: '12D3KooWExamplePeer',
    public_key: hashOf('node key'),
    peer_count: 3,
    pow_difficulty: 'fffff80000000000',
    lease_timing: {
      min_duration_secs: 60n,
      settle_grace_ns: 3600000000000n,
      force_settle_gap_ns: 1500000000000n,
      escrow_expiry_ns: 31536000000000000n,
      archive_gap_ns: 3600000000000n,
      max_attestation_skew_ns: 600000000000n,
    },
    pow_algorithm: 'blake3',
    finality: {
      quorum_pct: 67,
      total_weight: 18446744073709551615n,
      online_weight: 12297829382473034410n,
      representatives: 3,
      online_representatives: 2,
      confirmed_blocks: 9007199254740993n,
      unconfirmed_blocks: 0n,
      open_conflicts: 0,
    },
  };
}

export function sendBlock(): Record<string, unknown> {
  return {
    type: 'send',
    account: hashOf('a'),
    previous: hashOf('p'),
    balance: 18446744073709551615n,
    timestamp: START_TIME,
    asset: 'XUSD',
    destination: hashOf('d'),
    amount: 1n,
    signature: 'cd'.repeat(64),
    hash: hashOf('block'),
    pow_nonce: 12345678901234567890n,
  };
}
