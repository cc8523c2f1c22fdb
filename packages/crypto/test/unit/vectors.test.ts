import { describe, expect, it } from '@jest/globals';
import { type Block, type Certificate, parseBlock, parseCertificate } from '@xe/core-types';
import {
  attestationDigest,
  bytesToHex,
  certificateHash,
  deriveAddress,
  hashBlock,
  keyPairFromSeed,
  powWork,
  signBlock,
  signCertificate,
  validateAttestations,
  verifyAttestation,
  verifyBlockSignature,
  verifyCertificate,
  verifyPow,
} from '../../src/index.js';
import { vector } from '../support/fixtures.js';

interface BlocksVector {
  network_id: string;
  seed_hex: string;
  pub_key: string;
  address: string;
  blocks: unknown[];
  pow: { hash: string; work_by_nonce: Record<string, string>; [k: string]: unknown };
}
interface Lifecycle {
  network_id: string;
  keys: Record<string, { seed: string; pub_key: string; address?: string }>;
  attestation_digest: { lease_hash: string; timestamp: bigint; digest: string };
  certificate: Record<string, unknown>;
  blocks: unknown[];
}

const blocksVec = vector<BlocksVector>('blocks.json');
const lifecycle = vector<Lifecycle>('lease-lifecycle.json');

describe('published XE genesis blocks', () => {
  it.each(['xe-embedded-ledger-genesis.json', 'xe-testnet-0003-ledger-genesis.json'])('%s hashes to its hash and its signature verifies', (name) => {
    const b = parseBlock(vector(name));
    expect(hashBlock(b, '')).toBe(b.hash);
    // genesis blocks hash with an empty network id whatever is passed
    expect(hashBlock(b, 'testnet-0003')).toBe(b.hash);
    expect(hashBlock(b, 'anything-else')).toBe(b.hash);
    expect(verifyBlockSignature(b, b.pub_key!, 'whatever')).toBe(true);
  });

  it('the embedded genesis pub_key derives its account', () => {
    const b = parseBlock(vector('xe-embedded-ledger-genesis.json'));
    expect(deriveAddress(b.pub_key!)).toBe(b.account);
  });

  it('the testnet genesis carries timing fields and encodes them (dropping them changes the hash)', () => {
    const b = parseBlock(vector('xe-testnet-0003-ledger-genesis.json')) as Block & Record<string, unknown>;
    expect(b.lease_min_duration_secs).toBe(5n);
    const { lease_min_duration_secs: _, ...rest } = b;
    expect(hashBlock(rest as Block, '')).not.toBe(b.hash);
  });
});

describe('blocks.json', () => {
  const key = keyPairFromSeed(blocksVec.seed_hex);

  it('the seed gives the published key and address', () => {
    expect(key.pubKeyHex).toBe(blocksVec.pub_key);
    expect(key.address).toBe(blocksVec.address);
    expect(deriveAddress(blocksVec.pub_key)).toBe(blocksVec.address);
  });

  it('every block hashes to its hash, its signature verifies, and signing reproduces it byte for byte', () => {
    expect(blocksVec.blocks.length).toBeGreaterThanOrEqual(3);
    for (const raw of blocksVec.blocks) {
      const b = parseBlock(raw);
      expect(hashBlock(b, blocksVec.network_id)).toBe(b.hash);
      expect(verifyBlockSignature(b, blocksVec.pub_key, blocksVec.network_id)).toBe(true);
      expect(verifyBlockSignature(b, blocksVec.pub_key, 'other-net')).toBe(false);
      const { hash: _h, signature: _s, ...unsigned } = b;
      const resigned = signBlock(unsigned as Parameters<typeof signBlock>[0], key, blocksVec.network_id);
      expect([resigned.hash, resigned.signature]).toEqual([b.hash, b.signature]);
    }
  });

  it('the pow work values match', () => {
    const entries = Object.entries(blocksVec.pow.work_by_nonce);
    expect(entries.length).toBe(3);
    for (const [nonce, work] of entries) expect(powWork(blocksVec.pow.hash, BigInt(nonce))).toBe(BigInt(work));
  });

  it('the lowest nonce of blocks[2] for difficulty 0xffff000000000000 is the published one', () => {
    const [label, lowest] = Object.entries(blocksVec.pow).find(([k]) => k.startsWith('lowest_nonce_of_blocks['))!;
    const m = /^lowest_nonce_of_blocks\[(\d+)\]_for_difficulty_(0x[0-9a-f]+)$/.exec(label)!;
    const block = parseBlock(blocksVec.blocks[Number(m[1])]);
    const difficulty = BigInt(m[2]!);
    let n = 0n;
    while (powWork(block.hash, n) < difficulty) n++;
    expect(n).toBe(BigInt(lowest as bigint));
    expect(verifyPow({ hash: block.hash, pow_nonce: n }, difficulty)).toBe(true);
    expect(verifyPow({ hash: block.hash, pow_nonce: n - 1n }, difficulty)).toBe(false);
  });
});

describe('lease-lifecycle.json', () => {
  const keys = Object.fromEntries(Object.entries(lifecycle.keys).map(([name, k]) => [name, keyPairFromSeed(k.seed)]));

  it('the seeds give the published keys and addresses', () => {
    for (const [name, k] of Object.entries(lifecycle.keys)) {
      expect(keys[name]!.pubKeyHex).toBe(k.pub_key);
      if (k.address) expect(keys[name]!.address).toBe(k.address);
    }
  });

  it('the attestation digest matches', () => {
    const d = lifecycle.attestation_digest;
    expect(bytesToHex(attestationDigest(d.lease_hash, d.timestamp))).toBe(d.digest);
  });

  it('the certificate hash and signature match, and signing reproduces them', () => {
    const cert: Certificate = parseCertificate(lifecycle.certificate);
    expect(certificateHash(cert, lifecycle.network_id)).toBe(cert.hash);
    expect(verifyCertificate(cert, lifecycle.network_id)).toBe(true);
    expect(verifyCertificate(cert, 'another-net')).toBe(false);
    const { hash: _h, signature: _s, ...unsigned } = cert;
    expect(signCertificate(unsigned, keys.provider!, lifecycle.network_id)).toEqual(cert);
  });

  // the lease_cancel there predates attested cancels (SPEC §5 as amended): no attestations
  const current = lifecycle.blocks.filter((raw) => (raw as { type: string }).type !== 'lease_cancel');

  it('its legacy lease_cancel (no attestations) is refused by the current field set', () => {
    const legacy = lifecycle.blocks.find((raw) => (raw as { type: string }).type === 'lease_cancel');
    expect(legacy).toBeDefined();
    expect(() => parseBlock(legacy)).toThrow(/attestations/);
  });

  it('every block hashes to its hash and its signature verifies by its account key', () => {
    expect(current.length).toBe(3);
    for (const raw of current) {
      const b = parseBlock(raw);
      expect(hashBlock(b, lifecycle.network_id)).toBe(b.hash);
      const signer = b.account === keys.provider!.address ? keys.provider! : keys.consumer!;
      expect(signer.address).toBe(b.account);
      expect(verifyBlockSignature(b, signer.pubKeyHex, lifecycle.network_id)).toBe(true);
    }
  });

  it('the attestations verify and give the lower median as attested time', () => {
    const tk = { keys: [keys.timekeeper_a!.pubKeyHex, keys.timekeeper_b!.pubKeyHex], threshold: 2 };
    for (const raw of current) {
      const b = parseBlock(raw);
      if (!('attestations' in b)) continue;
      for (const a of b.attestations) expect(verifyAttestation(a, b.source)).toBe(true);
      const times = b.attestations.map((a) => a.timestamp).sort((x, y) => (x < y ? -1 : 1));
      expect(validateAttestations(b.attestations, b.source, tk, { now: 0n, skewNs: 0n, checkSkew: false })).toBe(times[0]);
    }
  });
});

describe('lease-cancel-attested.json', () => {
  const attestedCancel = vector<{ network_id: string; blocks: unknown[] }>('lease-cancel-attested.json');
  const keys = Object.fromEntries(Object.entries(lifecycle.keys).map(([name, k]) => [name, keyPairFromSeed(k.seed)]));
  const cancel = parseBlock(attestedCancel.blocks[0]);

  it('the attested cancel hashes to its hash (attestations in the aux section, sorted by key) and its signature verifies', () => {
    expect(cancel.type).toBe('lease_cancel');
    expect(attestedCancel.network_id).toBe(lifecycle.network_id);
    expect(hashBlock(cancel, attestedCancel.network_id)).toBe(cancel.hash);
    expect(keys.consumer!.address).toBe(cancel.account);
    expect(verifyBlockSignature(cancel, keys.consumer!.pubKeyHex, attestedCancel.network_id)).toBe(true);
    const { hash: _h, signature: _s, ...unsigned } = cancel;
    const resigned = signBlock(unsigned as Parameters<typeof signBlock>[0], keys.consumer!, attestedCancel.network_id);
    expect([resigned.hash, resigned.signature]).toEqual([cancel.hash, cancel.signature]);
  });

  it('the aux section binds the attestations: dropping or changing one changes the hash; their order does not', () => {
    if (cancel.type !== 'lease_cancel') throw new Error('not a cancel');
    const reversed = { ...cancel, attestations: [...cancel.attestations].reverse() };
    expect(hashBlock(reversed, attestedCancel.network_id)).toBe(cancel.hash);
    const one = { ...cancel, attestations: cancel.attestations.slice(0, 1) };
    expect(hashBlock(one, attestedCancel.network_id)).not.toBe(cancel.hash);
    const none = { ...cancel, attestations: [] };
    expect(hashBlock(none, attestedCancel.network_id)).not.toBe(cancel.hash);
    const later = { ...cancel, attestations: [{ ...cancel.attestations[0]!, timestamp: cancel.attestations[0]!.timestamp + 1n }, cancel.attestations[1]!] };
    expect(hashBlock(later, attestedCancel.network_id)).not.toBe(cancel.hash);
  });

  it('its attestations verify over the plain §8 digest and give the lower median', () => {
    if (cancel.type !== 'lease_cancel') throw new Error('not a cancel');
    const tk = { keys: [keys.timekeeper_a!.pubKeyHex, keys.timekeeper_b!.pubKeyHex], threshold: 2 };
    for (const a of cancel.attestations) expect(verifyAttestation(a, cancel.source)).toBe(true);
    const times = cancel.attestations.map((a) => a.timestamp).sort((x, y) => (x < y ? -1 : 1));
    expect(validateAttestations(cancel.attestations, cancel.source, tk, { now: 0n, skewNs: 0n, checkSkew: false })).toBe(times[0]);
  });
});
