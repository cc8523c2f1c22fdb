import { bytesToHex, type NodeRecord } from '@xe/core-types';
import { lp, sha256, u64be, utf8 } from './bytes.js';
import { deriveAddress, type KeyPair, signHex, verify } from './ed25519.js';

/** Field order of each marketplace message kind (SPEC §9). */
export const MARKETPLACE_FIELDS = {
  advertisement: ['provider', 'provider_pub_key', 'vcpus', 'memory_mb', 'disk_gb', 'price_multiplier_milli', 'expires_at', 'timestamp'],
  request: ['consumer', 'consumer_pub_key', 'request_id', 'vcpus', 'memory_mb', 'disk_gb', 'duration', 'timestamp'],
  offer: [
    'provider',
    'provider_pub_key',
    'request_id',
    'vcpus',
    'memory_mb',
    'disk_gb',
    'duration',
    'total_cost',
    'certificate_hash',
    'available_vcpus',
    'available_memory_mb',
    'available_disk_gb',
    'timestamp',
  ],
} as const;

export type MarketplaceKind = keyof typeof MARKETPLACE_FIELDS;

function fieldString(v: unknown): string {
  if (typeof v === 'bigint' || typeof v === 'number') return String(v);
  if (typeof v === 'string') return v;
  return '';
}

/** `SHA-256("xe/marketplace-<kind>/v1\0" || lp(network_id) || lp(field)...)`, numbers in decimal. */
export function marketplaceDigest(kind: MarketplaceKind, networkId: string, msg: Record<string, unknown>): Uint8Array {
  const parts = [utf8(`xe/marketplace-${kind}/v1\0`), lp(networkId)];
  for (const f of MARKETPLACE_FIELDS[kind]) parts.push(lp(fieldString(msg[f])));
  return sha256(...parts);
}

export function signMarketplace<T extends Record<string, unknown>>(
  kind: MarketplaceKind,
  networkId: string,
  msg: T,
  key: KeyPair,
): T & { signature: string } {
  return { ...msg, signature: signHex(marketplaceDigest(kind, networkId, msg), key) };
}

/** The signature verifies by the message's public key, and that key derives its address. */
export function verifyMarketplace(kind: MarketplaceKind, networkId: string, msg: Record<string, unknown>): boolean {
  const keyField = kind === 'request' ? 'consumer_pub_key' : 'provider_pub_key';
  const addrField = kind === 'request' ? 'consumer' : 'provider';
  const pub = msg[keyField];
  const sig = msg.signature;
  if (typeof pub !== 'string' || typeof sig !== 'string') return false;
  try {
    if (deriveAddress(pub) !== msg[addrField]) return false;
  } catch {
    return false;
  }
  return verify(marketplaceDigest(kind, networkId, msg), sig, pub);
}

const RECORD_TAG = utf8('xe/node-record/v1\0');

export type UnsignedNodeRecord = Omit<NodeRecord, 'signature'>;

/** Digest of a node record (ours): tag, network id, address, key, peer id, addrs, roles, timestamp. */
export function nodeRecordDigest(record: UnsignedNodeRecord, networkId: string): Uint8Array {
  const parts = [RECORD_TAG, lp(networkId), lp(record.address), lp(record.pub_key), lp(record.peer_id)];
  parts.push(u64be(BigInt(record.multiaddrs.length)));
  for (const m of record.multiaddrs) parts.push(lp(m));
  parts.push(u64be(BigInt(record.roles.length)));
  for (const r of record.roles) parts.push(lp(r));
  parts.push(u64be(record.timestamp));
  return sha256(...parts);
}

export function signNodeRecord(record: UnsignedNodeRecord, key: KeyPair, networkId: string): NodeRecord {
  return { ...record, signature: signHex(nodeRecordDigest(record, networkId), key) };
}

export function verifyNodeRecord(record: NodeRecord, networkId: string): boolean {
  try {
    if (deriveAddress(record.pub_key) !== record.address) return false;
  } catch {
    return false;
  }
  return verify(nodeRecordDigest(record, networkId), record.signature, record.pub_key);
}

export { bytesToHex };
