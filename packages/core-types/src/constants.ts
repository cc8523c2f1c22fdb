/** Protocol constants (SPEC §1–§8). Every package imports these; none copies them. */

export const ASSETS = ['XE', 'XUSD'] as const;
export type Asset = (typeof ASSETS)[number];

/** 1 XE or 1 XUSD in micro-units. */
export const MICRO = 1_000_000n;

export const BLOCK_VERSION = 0x02;

export const BLOCK_TYPE_BYTES = {
  send: 0x01,
  receive: 0x02,
  lease: 0x04,
  lease_accept: 0x05,
  lease_settle: 0x06,
  genesis: 0x07,
  lease_cancel: 0x0a,
  lease_force_settle: 0x0c,
} as const;

export type BlockType = keyof typeof BLOCK_TYPE_BYTES;
export const BLOCK_TYPES = Object.keys(BLOCK_TYPE_BYTES) as BlockType[];

/** `previous` of an account's first block. */
export const ZERO_PREVIOUS = '0';
export const ZERO_HASH = '0'.repeat(64);

export const HASH_HEX_LEN = 64;
export const SIGNATURE_HEX_LEN = 128;

export const MAX_MEMO_BYTES = 64;
export const MAX_ATTESTATIONS = 20;

/** Resource ceilings of a lease (SPEC §5). */
export const MAX_VCPUS = 4096;
export const MAX_MEMORY_MB = 67_108_864;
export const MAX_DISK_GB = 1_048_576;
export const MAX_LEASE_DURATION_SECS = 31_536_000;

/** Certificates (SPEC §7). */
export const MIN_PRICE_MULTIPLIER_MILLI = 500;
export const MAX_PRICE_MULTIPLIER_MILLI = 10_000;
export const DEFAULT_PRICE_MULTIPLIER_MILLI = 1000;
export const CERTIFICATE_VALIDITY_NS = 7n * 24n * 3600n * 1_000_000_000n;

/** Timekeeper signing rate limit: one signature per (requester, lease, state) per window. */
export const ATTEST_RATE_WINDOW_NS = 30n * 1_000_000_000n;

/** Node records (SPEC §2). */
export const NODE_RECORD_REPUBLISH_MS = 5 * 60 * 1000;
export const NODE_RECORD_EXPIRY_MS = 15 * 60 * 1000;

/** Gossip (SPEC §9). */
export const GOSSIP_MAX_MESSAGE_BYTES = 256 * 1024;
export const TOPICS = {
  blocks: 'xe/blocks',
  marketplace: 'xe/marketplace',
  certificates: 'xe/certificates',
  nodes: 'xe/nodes',
  votes: 'xe/votes',
} as const;
export const PROTOCOLS = {
  hello: '/xe/hello/1.0.0',
  sync: '/xe/sync/1.0.0',
  attest: '/xe/attest/1.0.0',
  cert: '/xe/cert/1.0.0',
  vminfo: '/xe/vminfo/1.0.0',
  tunnel: '/xe/tunnel/1.0.0',
  votes: '/xe/votes/1.0.0',
} as const;
export const WRONG_NETWORK_BAN_MS = 10 * 60 * 1000;
export const SYNC_INTERVAL_MS = 30_000;

/** HTTP (SPEC §11). */
export const MAX_HTTP_BODY_BYTES = 1024 * 1024;
export const EXEC_OUTPUT_CAP_BYTES = 1024 * 1024;
export const LEASES_PAGE_DEFAULT = 100;
export const LEASES_PAGE_MAX = 1000;

/** Block timestamps of live blocks must be within this of the local clock. */
export const LIVE_TIMESTAMP_TOLERANCE_NS = 3600n * 1_000_000_000n;

export const NS_PER_SEC = 1_000_000_000n;
export const NS_PER_MS = 1_000_000n;

/** Production proof-of-work difficulty (~2^21 tries). */
export const DEFAULT_POW_DIFFICULTY = 0xfffff80000000000n;

export const PROTOCOL_VERSION = '0.1.0';
