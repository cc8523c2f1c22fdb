import { bytesToHex, fields, type GenesisBundle, hexToBytes, LEASE_PARAM_FIELDS, type NetworkParams } from '@xe/core-types';
import { lp, sha256, u64be, utf8 } from './bytes.js';

const NETWORK_TAG = utf8('xe/network/v1\0');

/**
 * The network hash (SPEC §4): SHA-256 over the tag, id, difficulty, threshold, the
 * timekeeper keys in sorted order, the lease parameters in bundle order, the hash of
 * each bundle block in order, then the finality quorum and each representative
 * (address, weight) sorted by address. Peers compare it on connect.
 */
export function networkHash(bundle: NetworkParams & Pick<GenesisBundle, 'finality'> & { blocks: readonly { hash: string }[] }): string {
  const parts: Uint8Array[] = [
    NETWORK_TAG,
    lp(bundle.network_id),
    u64be(bundle.pow_difficulty),
    u64be(BigInt(bundle.timekeepers.threshold)),
  ];
  for (const key of [...bundle.timekeepers.keys].sort()) parts.push(lp(key));
  for (const f of LEASE_PARAM_FIELDS) parts.push(u64be(bundle.lease[f]));
  bundle.blocks.forEach((b, i) => {
    parts.push(hexToBytes(fields.hash(b.hash, `blocks[${i}].hash`)));
  });
  parts.push(u64be(BigInt(bundle.finality.quorum_pct)));
  const reps = [...bundle.finality.representatives].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  for (const r of reps) parts.push(lp(r.address), u64be(r.weight));
  return bytesToHex(sha256(...parts));
}

export type { GenesisBundle };
