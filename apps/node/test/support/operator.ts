import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Attestation, type Block, type GenesisBundle, type JsonValue, parseJson, stringifyJson, type UnsignedBlock, waitUntil } from '@xe/core-types';
import { type KeyPair, keyPairFromSeed } from '@xe/crypto';
import { type AccountView, type ConsistencyReport, FINALITY_LOCAL_BUCKETS, Ledger, LevelStore, sealBlock, stateDigest, type SupplyCounters } from '@xe/ledger';
import { DEVNET_DIFFICULTY } from '../../src/devnet.js';
import { readGenesis } from '../../src/datadir.js';
import type { TestNet } from './harness.js';

class AttestRefused extends Error {}

/**
 * The devnet's operator, for tests that write blocks themselves: it holds every node's
 * key (the `node.key` in each data directory), reads the nodes' state over HTTP, seals
 * blocks with `@xe/ledger` and submits them to the node of its choice.
 */
export class DevnetOperator {
  constructor(readonly net: TestNet) {}

  /** Node i's key pair, from its data directory. */
  nodeKey(i: number): KeyPair {
    const key = keyPairFromSeed(readFileSync(join(this.net.info.nodes[i]!.data_dir, 'node.key'), 'utf8').trim());
    if (key.address !== this.net.address(i)) throw new Error(`node ${i}: node.key does not derive the node's address`);
    return key;
  }

  /** GET `path` on node i with the operator token; 404 → null. */
  async get(i: number, path: string): Promise<JsonValue> {
    const res = await fetch(`${this.net.url(i)}${path}`, { headers: { authorization: `Bearer ${this.net.token}` }, signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`GET ${path} on node ${i}: ${res.status} ${text.slice(0, 300)}`);
    return parseJson(text) as JsonValue;
  }

  /** A block as node i serves it (`GET /blocks/{hash}`), or null when it holds no such block. */
  async block(i: number, hash: string): Promise<{ hash: string; confirmed: boolean } | null> {
    return (await this.get(i, `/blocks/${hash}`)) as { hash: string; confirmed: boolean } | null;
  }

  /** The head of `address` as node i holds it (frontier, height, balances), for the block builders. */
  async head(i: number, address: string): Promise<AccountView> {
    // `head`: the chain as applied, confirmed or not (the top-level fields are the confirmed state)
    const a = (await this.get(i, `/accounts/${address}`)) as { head: { frontier: string; height: bigint; balances: { XE: bigint; XUSD: bigint } } } | null;
    if (a === null) throw new Error(`node ${i} holds no account ${address}`);
    return { address, frontier: a.head.frontier, height: a.head.height, balances: a.head.balances };
  }

  /** Signs and solves the proof of work of `unsigned` for this devnet. */
  seal(unsigned: UnsignedBlock, key: KeyPair): Promise<Block> {
    return sealBlock(unsigned, key, { networkId: this.net.info.network_id, difficulty: DEVNET_DIFFICULTY });
  }

  /** `POST /blocks/{type}` on node i; resolves with the status and the answer's body. */
  async submit(i: number, block: Block): Promise<{ status: number; body: string }> {
    const res = await fetch(`${this.net.url(i)}/blocks/${block.type}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stringifyJson(block as unknown as JsonValue),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, body: (await res.text()).slice(0, 500) };
  }

  /**
   * `POST /attestation/request` on timekeeper node i, asked again while the timekeeper
   * answers that the lease cannot be attested yet (409, e.g. before a cancel opens) or
   * retryably, until `timeoutMs`.
   */
  async attest(i: number, leaseHash: string, timeoutMs = 5000): Promise<Attestation> {
    return waitUntil(
      async () => {
        const res = await fetch(`${this.net.url(i)}/attestation/request`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: stringifyJson({ lease_hash: leaseHash }),
          signal: AbortSignal.timeout(5000),
        });
        const text = await res.text();
        if (res.status === 200) return parseJson(text) as unknown as Attestation;
        const answer = `${res.status} ${text.slice(0, 300)}`;
        // a refusal that a later request cannot change ends the wait
        if (res.status !== 409 && res.status !== 503) throw new AttestRefused(`attestation from node ${i}: ${answer}`);
        throw new Error(answer);
      },
      { timeoutMs, intervalMs: 25, what: `an attestation from node ${i}`, stopOn: (err) => err instanceof AttestRefused },
    );
  }

  /** The devnet's bundle. */
  bundle(): GenesisBundle {
    return readGenesis(this.net.prepared.genesisFile);
  }

  /**
   * Opens the ledger of node i — which must be stopped — and reports its consistency
   * (every derived record recomputed from the blocks, the supply identity), the XUSD
   * supply counters and a digest of the state the nodes must agree on.
   */
  async inspectLedger(i: number): Promise<{ report: ConsistencyReport; xusd: SupplyCounters & { balances: bigint }; digest: string }> {
    const bundle = this.bundle();
    const store = await LevelStore.open(join(this.net.info.nodes[i]!.data_dir, 'ledger'));
    const ledger = await Ledger.open(store, bundle, { finality: { params: bundle.finality } });
    try {
      const report = await ledger.checkConsistency();
      const xusd = await ledger.supply('XUSD');
      const digest = await stateDigest(ledger.storage, { exclude: [...FINALITY_LOCAL_BUCKETS] });
      return { report, xusd, digest };
    } finally {
      await ledger.close();
    }
  }
}
