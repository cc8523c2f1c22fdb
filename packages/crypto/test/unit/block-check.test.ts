import { describe, expect, it } from '@jest/globals';
import { type Block, bytesToHex, U64_MAX } from '@xe/core-types';
import { attachPow, type BlockCheck, type BlockCheckJob, checkBlockStateless, hashBlockBytes, signBlock, verifyHashSignature, verifyPow } from '../../src/index.js';
import { warmUpChecks } from '../../src/block-check.js';
import { consumer, NETWORK_ID, provider, unsignedBlocks } from '../support/fixtures.js';

const DIFFICULTY = 0xf000000000000000n;

/**
 * The checks composed from the library's single-purpose functions, as the block-check
 * contract states them: what the packed path (bytes to a thread and back) must answer.
 */
function reference(job: BlockCheckJob): Omit<BlockCheck, 'source'> {
  const { block } = job;
  let digest: Uint8Array;
  try {
    digest = hashBlockBytes(block, job.networkId);
  } catch (err) {
    return { hashOk: false, hashError: (err as Error).message };
  }
  const out: Omit<BlockCheck, 'source'> = { digest, hashOk: bytesToHex(digest) === block.hash };
  if (!out.hashOk) return out;
  if (block.type !== 'genesis') out.powOk = verifyPow(block, job.difficulty);
  const key = block.pub_key ?? job.pubKey;
  if (key !== undefined) {
    out.sigKey = key;
    out.sigOk = verifyHashSignature(block.hash, block.signature, key);
  }
  return out;
}

async function sealed(): Promise<Block[]> {
  const out: Block[] = [];
  for (const u of Object.values(unsignedBlocks())) {
    const key = u.account === consumer.address ? consumer : provider;
    const signed = signBlock(u, key, NETWORK_ID) as Block;
    out.push(u.type === 'genesis' ? signed : ((await attachPow(signed, DIFFICULTY)) as Block));
  }
  return out;
}

describe('checkBlockStateless (packed)', () => {
  it('answers what the single-purpose functions answer, field by field, on good and hostile inputs', async () => {
    const jobs: BlockCheckJob[] = [];
    for (const b of await sealed()) {
      const key = b.account === consumer.address ? consumer : provider;
      const other = key === consumer ? provider : consumer;
      const base = { networkId: NETWORK_ID, difficulty: DIFFICULTY };
      const variants: Block[] = [
        b,
        { ...b, hash: b.hash.toUpperCase() },
        { ...b, hash: b.hash.slice(0, 62) },
        { ...b, signature: b.signature.toUpperCase() },
        { ...b, signature: `${b.signature}00` },
        { ...b, signature: 'zz'.repeat(64) },
        { ...b, pow_nonce: -1n } as Block,
        { ...b, pow_nonce: U64_MAX + 1n } as Block,
        { ...b, pow_nonce: 7 as unknown as bigint } as Block,
        { ...b, pow_nonce: undefined } as unknown as Block,
      ];
      for (const v of variants) {
        jobs.push({ block: v, ...base }, { block: v, ...base, pubKey: key.pubKeyHex }, { block: v, ...base, pubKey: other.pubKeyHex });
      }
      jobs.push(
        { block: b, ...base, pubKey: 'AB'.repeat(32) },
        { block: b, ...base, pubKey: 'ab'.repeat(31) },
        { block: b, networkId: NETWORK_ID, difficulty: U64_MAX },
        { block: b, networkId: NETWORK_ID, difficulty: U64_MAX + 1n },
        { block: b, networkId: NETWORK_ID, difficulty: -5n },
        { block: b, networkId: NETWORK_ID, difficulty: 0n },
        { block: b, networkId: 'another-net', difficulty: DIFFICULTY },
        { block: { ...b, memo: 'x'.repeat(1000) } as Block, ...base },
      );
    }
    let facts = 0;
    for (const job of jobs) {
      const { source, ...got } = checkBlockStateless(job);
      expect(source).toBe('inline');
      expect(got).toEqual(reference(job));
      facts += Object.keys(got).length;
    }
    // the variants reach every branch: some pass and some fail each check
    const all = jobs.map((j) => checkBlockStateless(j));
    for (const k of ['hashOk', 'powOk', 'sigOk'] as const) {
      expect(all.some((a) => a[k] === true)).toBe(true);
      expect(all.some((a) => a[k] === false)).toBe(true);
    }
    expect(all.some((a) => a.hashError !== undefined)).toBe(true);
    expect(all.some((a) => a.hashOk && a.powOk === undefined)).toBe(true);
    expect(facts).toBeGreaterThan(jobs.length * 2);
  });
});

describe('warmUpChecks', () => {
  it('runs a job that passes the hash, proof-of-work and signature checks (a verifier thread warms every path at boot)', () => {
    expect(warmUpChecks()).toBe(true);
  });
});
