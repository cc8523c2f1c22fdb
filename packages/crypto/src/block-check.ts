import { type Block, decodeHexInto, U64_MAX } from '@xe/core-types';
import { sha256, utf8 } from './bytes.js';
import { keyPairFromSeed, sign, verifyBytes } from './ed25519.js';
import { hashPreimage } from './encode.js';
import { sharedPowEngine } from './pow-engine.js';

/** The stateless checks of one block: what a worker thread (or the caller's thread) computes. */
export interface BlockCheckJob {
  /** a block that passed its shape check (`parseBlock`) */
  block: Block;
  networkId: string;
  difficulty: bigint;
  /** the key to verify the signature with when the block carries no `pub_key` (the account's stored key) */
  pubKey?: string;
}

/**
 * Facts about a block, each the result of the same function the inline checks call:
 * `digest` (or `hashError` when the fields cannot be hashed), `hashOk` (the `hash` field
 * is the digest), `powOk` (`verifyPow`, undefined for genesis blocks or a wrong hash) and
 * `sigOk` for the key `sigKey` (undefined when no key was known or the hash is wrong).
 */
export interface BlockCheck {
  digest?: Uint8Array;
  hashError?: string;
  hashOk: boolean;
  powOk?: boolean;
  sigKey?: string;
  sigOk?: boolean;
  /** where it was computed */
  source: 'worker' | 'inline';
}

/** Runs the stateless checks of `job` on this thread. Never throws. */
export function checkBlockStateless(job: BlockCheckJob, source: BlockCheck['source'] = 'inline'): BlockCheck {
  const packed = packChecks([job]);
  return unpackChecks(packed.prepared, runPackedChecks(packed.bytes), source)[0]!;
}

// ---------------------------------------------------------------- packed checks
//
// A thread is handed its jobs as bytes, not as block objects: cloning a block (a dozen
// strings and bigints) into a thread's heap and back cost more than hashing it. The
// caller's thread reduces each job to what the checks read — the hash preimage, the
// claimed hash, the nonce, the signature and key as bytes — and the thread answers with
// the digest and three bits per job. `checkBlockStateless` runs the same three steps on
// one job, so a job's answer is the same wherever it is computed.
//
// bytes:   u32 count, then per job: u32 preimage length · u8 flags · preimage
//          · [32 claimed hash] (HAS_CLAIMED) · [u64 nonce · u64 difficulty] (POW_INPUT)
//          · [64 signature · 32 key] (SIG_INPUT); integers little-endian
// answers: per job 32 digest · u8 (HASH_OK | POW_OK | SIG_OK)

/** the block's `hash` field is 64 lowercase hex (else hashOk is false) */
const HAS_CLAIMED = 1;
/** not a genesis block: the proof of work is checked */
const CHECK_POW = 2;
/** with CHECK_POW: the nonce is a u64 (else powOk is false) */
const POW_INPUT = 4;
/** a key is known: the signature is checked */
const CHECK_SIG = 8;
/** with CHECK_SIG: signature and key are lowercase hex of 64 and 32 bytes (else sigOk is false) */
const SIG_INPUT = 16;

const HASH_OK = 1;
const POW_OK = 2;
const SIG_OK = 4;

/** Bytes of one job's answer in `runPackedChecks`' output. */
export const PACKED_ANSWER_BYTES = 33;

/** What the caller keeps of a packed job to read its answer. */
export interface PreparedCheck {
  /** the block cannot be hashed (its job is not in the bytes) */
  hashError?: string;
  flags: number;
  sigKey?: string;
}

/** Jobs as bytes for `runPackedChecks`, and what `unpackChecks` needs to read the answers. */
export function packChecks(jobs: readonly BlockCheckJob[]): { bytes: Uint8Array; prepared: PreparedCheck[] } {
  const prepared: PreparedCheck[] = [];
  const preimages: ([Uint8Array, Uint8Array, Uint8Array] | undefined)[] = [];
  let size = 4;
  for (const job of jobs) {
    const { block } = job;
    let parts: [Uint8Array, Uint8Array, Uint8Array];
    try {
      parts = hashPreimage(block, job.networkId);
    } catch (err) {
      prepared.push({ hashError: (err as Error).message, flags: 0 });
      preimages.push(undefined);
      continue;
    }
    let flags = 0;
    size += 5 + parts[0].length + parts[1].length + parts[2].length + 32;
    if (block.type !== 'genesis') {
      flags |= CHECK_POW;
      size += 16;
    }
    const key = block.pub_key ?? job.pubKey;
    if (key !== undefined) {
      flags |= CHECK_SIG;
      size += 96;
    }
    prepared.push(key === undefined ? { flags } : { flags, sigKey: key });
    preimages.push(parts);
  }
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  let count = 0;
  let o = 4;
  for (let i = 0; i < jobs.length; i++) {
    const parts = preimages[i];
    if (parts === undefined) continue;
    count++;
    const job = jobs[i]!;
    const p = prepared[i]!;
    const length = parts[0].length + parts[1].length + parts[2].length;
    view.setUint32(o, length, true);
    const flagsAt = o + 4;
    o += 5;
    for (const part of parts) {
      bytes.set(part, o);
      o += part.length;
    }
    let flags = p.flags;
    if (decodeHexInto(job.block.hash, bytes, o, 32)) flags |= HAS_CLAIMED;
    o += 32;
    if ((flags & CHECK_POW) !== 0) {
      const nonce = job.block.pow_nonce;
      const d = job.difficulty;
      // work is a u64: a difficulty above U64_MAX is met by no nonce, one below zero by any
      if (typeof nonce === 'bigint' && nonce >= 0n && nonce <= U64_MAX && d <= U64_MAX) {
        flags |= POW_INPUT;
        view.setBigUint64(o, nonce, true);
        view.setBigUint64(o + 8, d < 0n ? 0n : d, true);
      }
      o += 16;
    }
    if ((flags & CHECK_SIG) !== 0) {
      if (decodeHexInto(job.block.signature, bytes, o, 64) && decodeHexInto(p.sigKey, bytes, o + 64, 32)) flags |= SIG_INPUT;
      o += 96;
    }
    bytes[flagsAt] = flags;
    p.flags = flags;
  }
  view.setUint32(0, count, true);
  return { bytes: bytes.subarray(0, o), prepared };
}

/** Computes the packed jobs (digest, proof of work, signature); the answers, `PACKED_ANSWER_BYTES` per job. */
export function runPackedChecks(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true);
  const answers = new Uint8Array(count * PACKED_ANSWER_BYTES);
  let o = 4;
  for (let j = 0; j < count; j++) {
    const length = view.getUint32(o, true);
    const flags = bytes[o + 4]!;
    o += 5;
    const digest = sha256(bytes.subarray(o, o + length));
    o += length;
    const at = j * PACKED_ANSWER_BYTES;
    answers.set(digest, at);
    let result = 0;
    if ((flags & HAS_CLAIMED) !== 0 && equal32(digest, bytes, o)) result |= HASH_OK;
    o += 32;
    if ((flags & CHECK_POW) !== 0) {
      if ((result & HASH_OK) !== 0 && (flags & POW_INPUT) !== 0) {
        const engine = sharedPowEngine();
        engine.setHash(digest);
        if (engine.work(view.getBigUint64(o, true)) >= view.getBigUint64(o + 8, true)) result |= POW_OK;
      }
      o += 16;
    }
    if ((flags & CHECK_SIG) !== 0) {
      if ((result & HASH_OK) !== 0 && (flags & SIG_INPUT) !== 0 && verifyBytes(digest, bytes.subarray(o, o + 64), bytes.subarray(o + 64, o + 96))) {
        result |= SIG_OK;
      }
      o += 96;
    }
    answers[at + 32] = result;
  }
  return answers;
}

/**
 * Runs one packed job that passes every check (hash, proof of work, signature) through
 * `runPackedChecks` on this thread: a verifier thread does it when it boots, so compiling
 * its code and instantiating the PoW kernel and libsodium happen before a node's first
 * blocks arrive, not on their first batch (which waited about 50 ms for it). True when the
 * job passed all three checks, as it must.
 */
export function warmUpChecks(): boolean {
  const preimage = utf8('xe/verifier-warm-up');
  const digest = sha256(preimage);
  const key = keyPairFromSeed(new Uint8Array(32).fill(7));
  const flags = HAS_CLAIMED | CHECK_POW | POW_INPUT | CHECK_SIG | SIG_INPUT;
  const bytes = new Uint8Array(4 + 5 + preimage.length + 32 + 16 + 96);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 1, true);
  view.setUint32(4, preimage.length, true);
  bytes[8] = flags;
  let o = 9;
  bytes.set(preimage, o);
  o += preimage.length;
  bytes.set(digest, o);
  // nonce 0 and difficulty 0: any work meets it
  o += 32 + 16;
  bytes.set(sign(digest, key), o);
  bytes.set(key.publicKey, o + 64);
  return runPackedChecks(bytes)[32] === (HASH_OK | POW_OK | SIG_OK);
}

/** The BlockCheck of each prepared job from `runPackedChecks`' answers. */
export function unpackChecks(prepared: readonly PreparedCheck[], answers: Uint8Array, source: BlockCheck['source']): BlockCheck[] {
  const out: BlockCheck[] = [];
  let at = 0;
  for (const p of prepared) {
    if (p.hashError !== undefined) {
      out.push({ hashOk: false, hashError: p.hashError, source });
      continue;
    }
    const digest = answers.slice(at, at + 32);
    const result = answers[at + 32]!;
    at += PACKED_ANSWER_BYTES;
    const check: BlockCheck = { digest, hashOk: (result & HASH_OK) !== 0, source };
    if (check.hashOk) {
      if ((p.flags & CHECK_POW) !== 0) check.powOk = (result & POW_OK) !== 0;
      if (p.sigKey !== undefined) {
        check.sigKey = p.sigKey;
        check.sigOk = (result & SIG_OK) !== 0;
      }
    }
    out.push(check);
  }
  return out;
}

function equal32(a: Uint8Array, b: Uint8Array, offset: number): boolean {
  for (let i = 0; i < 32; i++) if (a[i] !== b[offset + i]) return false;
  return true;
}
