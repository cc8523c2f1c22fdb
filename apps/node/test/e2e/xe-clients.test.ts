import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type StoredBlock, SUBMITTABLE_BLOCK_TYPES } from '@xe/api-contract';
import { XeApiError, XeClient } from '@xe/client';
import { type Block, type JsonValue, parseJson, stringifyJson, waitUntil } from '@xe/core-types';
import { attachPow, generateKeyPair, type KeyPair, powWork, signBlock, tunnelAuthHeaders } from '@xe/crypto';
import { readGenesis, readKeyFile } from '../../src/datadir.js';
import { checkedClient, checkedFetch, contractChecks } from '../support/contract.js';
import { TestNet } from '../support/harness.js';

/**
 * The XE network's own clients against a devnet of `xe-node start` processes (0 timekeeper,
 * 1 provider, 2 consumer): the web wallet's and the CLI's request sequences as raw HTTP
 * (u64 fields as bare JSON numbers), then `@xe/client` on every route. Every answer is
 * checked against the contract (`checkedFetch`).
 */
let net: TestNet;
let networkId: string;
/** node 2's key: the consumer account, funded by the genesis bundle */
let funded: KeyPair;
let bundle: ReturnType<typeof readGenesis>;

beforeAll(async () => {
  net = await TestNet.create();
  await net.startAll();
  networkId = net.info.network_id;
  bundle = readGenesis(net.prepared.genesisFile);
  funded = readKeyFile(join(net.info.nodes[2]!.data_dir, 'node.key'));
  await net.waitMarket();
});

afterAll(async () => {
  await net?.stop();
});

interface Answer {
  status: number;
  text: string;
  body: JsonValue;
}

async function get(i: number, path: string): Promise<Answer> {
  const res = await checkedFetch(`${net.url(i)}${path}`);
  const text = await res.text();
  return { status: res.status, text, body: parseJson(text) };
}

/** POSTs a JSON text as the wallet does: `content-type: application/json`, integers as bare numbers. */
async function post(i: number, path: string, text: string): Promise<Answer> {
  const res = await checkedFetch(`${net.url(i)}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
  const body = await res.text();
  return { status: res.status, text: body, body: parseJson(body) };
}

/** Waits until node i serves the block as confirmed (representative votes, SPEC §12). */
async function confirmedOn(i: number, hash: string): Promise<void> {
  await waitUntil(async () => ((await get(i, `/blocks/${hash}`)).body as { confirmed?: boolean }).confirmed === true, {
    timeoutMs: 30_000,
    what: `block ${hash.slice(0, 12)} confirmed on node ${i}`,
  });
}

/** XE's `pow_difficulty`: 16 hex chars, `"0"` when off. */
function difficultyOf(hex: string): bigint {
  return hex === '0' ? 0n : BigInt(`0x${hex}`);
}

const XUSD = 1_000_000n;

describe("the XE wallet's and CLI's request sequences", () => {
  it('read the difficulty, send, find it pending, open a fresh account with it, read balance and chain, look up a certificate', async () => {
    // 1. GET /node: the PoW difficulty, as XE writes it.
    const node = (await get(2, '/node')).body as { pow_difficulty: string; pow_algorithm: string; network_id: string; id: string; peer_id: string };
    expect(node.pow_difficulty).toMatch(/^(0|[0-9a-f]{16})$/);
    expect([node.pow_algorithm, node.network_id, node.id]).toEqual(['blake3', networkId, node.peer_id]);
    const difficulty = difficultyOf(node.pow_difficulty);
    expect(difficulty).toBe(bundle.pow_difficulty);

    // 2. The sender's balance and frontier (GET /accounts/{a}/balance, /chain?limit=1), once its chain is confirmed.
    await waitUntil(
      async () => {
        const b = (await get(2, `/accounts/${funded.address}/balance`)).body as { final_height: bigint };
        const c = (await get(2, `/accounts/${funded.address}/chain?limit=1`)).body as { total: bigint };
        return b.final_height === c.total;
      },
      { timeoutMs: 30_000, what: "the sender's chain confirmed" },
    );
    const bal = (await get(2, `/accounts/${funded.address}/balance`)).body as { balances: { XUSD: bigint }; spendable: { XUSD: bigint } };
    const head = (await get(2, `/accounts/${funded.address}/chain?limit=1`)).body as { total: bigint; blocks: { hash: string; confirmed: boolean }[] };
    expect(head.blocks).toHaveLength(1);
    expect(bal.spendable.XUSD).toBe(bal.balances.XUSD);

    // 3. POST /blocks/send: built, signed and solved here at the node's difficulty.
    const wallet = generateKeyPair();
    const amount = 7n * XUSD + 1n;
    const send = await attachPow(
      signBlock(
        {
          type: 'send' as const,
          account: funded.address,
          previous: head.blocks[0]!.hash,
          balance: bal.balances.XUSD - amount,
          timestamp: BigInt(Date.now()) * 1_000_000n,
          asset: 'XUSD' as const,
          destination: wallet.address,
          amount,
        },
        funded,
        networkId,
      ),
      difficulty,
    );
    const sendText = stringifyJson(send);
    expect(sendText).toMatch(/"timestamp":\d{19},/); // a bare JSON number above 2^53
    const sent = await post(2, '/blocks/send', sendText);
    expect(sent.status).toBe(201);
    expect(sent.body).toEqual({ ...send, confirmed: (sent.body as { confirmed: boolean }).confirmed });
    await confirmedOn(2, send.hash);

    // 4. GET /pending/{a}: the send, in XE's key spelling.
    const pending = (await get(2, `/pending/${wallet.address}`)).body as { pending: Record<string, JsonValue>[] };
    expect(pending.pending).toEqual([{ SendHash: send.hash, Source: funded.address, Destination: wallet.address, Amount: amount, Asset: 'XUSD' }]);

    // 5. POST /blocks/receive opens the fresh account (its first block carries pub_key).
    const receive = await attachPow(
      signBlock(
        {
          type: 'receive' as const,
          account: wallet.address,
          previous: '0',
          balance: amount,
          timestamp: BigInt(Date.now()) * 1_000_000n,
          asset: 'XUSD' as const,
          pub_key: wallet.pubKeyHex,
          source: send.hash,
        },
        wallet,
        networkId,
      ),
      difficulty,
    );
    const opened = await post(2, '/blocks/receive', stringifyJson(receive));
    expect(opened.status).toBe(201);
    expect(opened.body).toEqual({ ...receive, confirmed: (opened.body as { confirmed: boolean }).confirmed });
    await confirmedOn(2, receive.hash);
    // Sent again: already stored, the same block.
    expect((await post(2, '/blocks/receive', stringifyJson(receive))).status).toBe(200);

    // 6. GET /accounts/{a}/balance and /chain of the new account.
    expect((await get(2, `/accounts/${wallet.address}/balance`)).body).toEqual({
      address: wallet.address,
      balances: { XE: 0n, XUSD: amount },
      spendable: { XE: 0n, XUSD: amount },
      final_height: 1n,
      head: { frontier: receive.hash, height: 1n, balances: { XE: 0n, XUSD: amount } }, // ours: the chain as applied
    });
    expect((await get(2, `/accounts/${wallet.address}/chain`)).body).toEqual({ address: wallet.address, total: 1n, blocks: [{ ...receive, confirmed: true }] });
    expect((await get(2, `/pending/${wallet.address}`)).body).toEqual({ address: wallet.address, pending: [] });
    // The sender's chain now starts with the send.
    const senderChain = (await get(2, `/accounts/${funded.address}/chain?limit=1`)).body as { total: bigint; blocks: { hash: string }[] };
    expect([senderChain.total, senderChain.blocks[0]!.hash]).toEqual([head.total + 1n, send.hash]);

    // Gossiped: another node serves the same blocks.
    await confirmedOn(0, receive.hash);
    expect((await get(0, `/blocks/${receive.hash}`)).body).toEqual({ ...receive, confirmed: true });

    // 7. The CLI: GET /providers (XE's fields), then /certificate/{provider}.
    const providers = (await get(2, '/providers')).body as Record<string, JsonValue>[];
    const provider = providers.find((p) => p.address === net.address(1))!;
    expect(provider).toMatchObject({ account: net.address(1), used_vcpus: 0n, used_memory_mb: 0n, used_disk_gb: 0n, total_leases: 0n });
    // A node answers the certificates it holds: the provider's own node always (others once a lease named it).
    await waitUntil(async () => (await get(1, `/certificate/${net.address(1)}`)).status === 200, { timeoutMs: 20_000, what: "the provider's certificate" });
    const cert = (await get(1, `/certificate/${net.address(1)}`)).body as { provider: string; hash: string; expires_at: bigint };
    expect(cert.provider).toBe(net.address(1));
    expect(cert.expires_at).toBeGreaterThan(BigInt(Date.now()) * 1_000_000n);
    expect((await get(1, `/certificate/hash/${cert.hash}`)).body).toEqual(cert);
    const none = await get(1, `/certificate/${wallet.address}`);
    expect([none.status, (none.body as { code: string }).code]).toEqual([404, 'CERTIFICATE_NOT_FOUND']);
  });

  it('refuses a body whose type differs from the path: 400 block type mismatch', async () => {
    const block = signBlock(
      {
        type: 'send' as const,
        account: funded.address,
        previous: '0'.repeat(64),
        balance: 1n,
        timestamp: BigInt(Date.now()) * 1_000_000n,
        asset: 'XUSD' as const,
        destination: net.address(1),
        amount: 1n,
      },
      funded,
      networkId,
    );
    const r = await post(2, '/blocks/receive', stringifyJson({ ...block, pow_nonce: 0n }));
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'BLOCK_TYPE_MISMATCH', retryable: false });
    expect((r.body as { error: string }).error).toContain('block type mismatch');
  });

  it('serves GET /openapi.json: the document the build writes to the repository', async () => {
    const served = await checkedFetch(`${net.url(0)}/openapi.json`);
    const file = fileURLToPath(new URL('../../../../packages/api-contract/openapi.json', import.meta.url));
    expect(await served.text()).toBe(readFileSync(file, 'utf8'));
  });
});

/** A nonce at the top of the u64 range that meets `difficulty` (so it cannot pass through a double). */
function highNonce(hash: string, difficulty: bigint): bigint | undefined {
  for (let n = 18446744073709551615n; n > 18446744073709551615n - 2_000_000n; n--) if (powWork(hash, n) >= difficulty) return n;
  return undefined;
}

describe('@xe/client against a real node', () => {
  const api = (i: number, token = true) => checkedClient(net.url(i), token ? { operatorToken: net.token } : {});

  async function caught(p: Promise<unknown>): Promise<XeApiError> {
    try {
      await p;
    } catch (err) {
      if (err instanceof XeApiError) return err;
      throw err;
    }
    throw new Error('expected an XeApiError');
  }

  it('calls every route the node serves, with 64-bit integers exact', async () => {
    const consumer = api(2);
    const difficulty = difficultyOf((await consumer.node()).pow_difficulty);

    // node
    const root = await consumer.root();
    expect(root.endpoints.map((e) => `${e.method} ${e.path}`)).toContain('POST /blocks/{type}');
    expect(root.node_id).toBe(root.peer_id);
    const info = await consumer.node();
    expect(info.lease_timing.max_attestation_skew_ns).toBe(bundle.lease.max_attestation_skew_ns);
    expect(typeof info.finality.confirmed_blocks).toBe('bigint');
    expect(await consumer.health()).toEqual({ status: 'ok' });
    expect((await consumer.ready()).ready).toBe(true);
    expect(await consumer.metrics()).toContain('xe_api_http_requests_total');
    expect((await consumer.openapi()).openapi).toBe('3.1.0');

    // blocks: a send with a nonce near 2^64 round-trips exactly through POST /blocks/{type}, GET /blocks/{hash}, /recent, /chain
    const wallet = generateKeyPair();
    const bal = await consumer.getBalance(funded.address);
    const chainHead = await consumer.getChain(funded.address, { limit: 1 });
    const signed = signBlock(
      {
        type: 'send' as const,
        account: funded.address,
        previous: chainHead.blocks[0]!.hash,
        balance: bal.balances.XUSD - 3n * XUSD,
        timestamp: BigInt(Date.now()) * 1_000_000n + 1n,
        asset: 'XUSD' as const,
        destination: wallet.address,
        amount: 3n * XUSD,
        memo: 'xe-client',
      },
      funded,
      networkId,
    );
    // The devnet's difficulty needs ~4096 tries: a nonce is all but sure within 2,000,000 of 2^64 − 1.
    const nonce = highNonce(signed.hash, difficulty);
    expect(nonce).toBeGreaterThan(2n ** 63n);
    const send: Block = { ...signed, pow_nonce: nonce! };
    // GET /events: once the stream is open (its headers arrived), the block submitted next is named on it.
    const stop = new AbortController();
    const deadline = setTimeout(() => stop.abort(), 30_000);
    let markOpen: () => void = () => undefined;
    const opened = new Promise<void>((resolve) => {
      markOpen = resolve;
    });
    const watcher = new XeClient({
      baseUrl: net.url(2),
      fetch: (async (input: string | URL | Request, init?: RequestInit) => {
        const res = await checkedFetch(input, init);
        if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) markOpen();
        return res;
      }) as typeof fetch,
    });
    const heard = (async () => {
      for await (const e of watcher.events({ signal: stop.signal })) {
        if ((e.event === 'block' || e.event === 'confirmed') && (e.data as { hash: string }).hash === send.hash) return e.event;
      }
      return undefined;
    })();
    await opened;
    const stored = await consumer.submitTypedBlock(send);
    expect(stored).toEqual({ ...send, confirmed: stored.confirmed });
    expect(stored.pow_nonce).toBe(nonce); // far above 2^53: exact both ways
    await confirmedOn(2, send.hash);
    expect(await consumer.getBlock(send.hash)).toEqual({ ...send, confirmed: true });
    expect(['block', 'confirmed']).toContain(await heard);
    stop.abort();
    clearTimeout(deadline);
    expect(await consumer.submitBlock(send)).toEqual({ status: 'duplicate', hash: send.hash });
    const recent = await consumer.recentBlocks({ limit: 5 });
    expect(recent.map((b: StoredBlock) => b.hash)).toContain(send.hash);
    expect(await consumer.recentBlocks({ since: send.timestamp })).not.toContainEqual(expect.objectContaining({ hash: send.hash }));
    expect((await consumer.getChain(funded.address, { limit: 1 })).blocks[0]).toEqual({ ...send, confirmed: true });
    expect((await consumer.getPending(wallet.address)).pending).toEqual([
      { SendHash: send.hash, Source: funded.address, Destination: wallet.address, Amount: 3n * XUSD, Asset: 'XUSD' },
    ]);
    const receive = await attachPow(
      signBlock(
        { type: 'receive' as const, account: wallet.address, previous: '0', balance: 3n * XUSD, timestamp: BigInt(Date.now()) * 1_000_000n, asset: 'XUSD' as const, pub_key: wallet.pubKeyHex, source: send.hash },
        wallet,
        networkId,
      ),
      difficulty,
    );
    expect(await consumer.submitBlock(receive)).toEqual({ status: 'accepted', hash: receive.hash });
    await confirmedOn(2, receive.hash);
    expect(await consumer.getAccount(wallet.address)).toMatchObject({ balances: { XE: 0n, XUSD: 3n * XUSD }, frontier: receive.hash, block_count: 1 });
    expect(SUBMITTABLE_BLOCK_TYPES).toContain(send.type);

    // market
    const providers = await consumer.listProviders();
    const p = providers.find((x) => x.address === net.address(1))!;
    expect(p.account).toBe(p.address);
    expect(Array.isArray(await consumer.listConflicts())).toBe(true);

    // a lease through the operator routes, its VM, exec, tunnel and attestation
    const access = generateKeyPair();
    const { lease_hash } = await consumer.requestLease({ vcpus: 1, memory_mb: 512, disk_gb: 1, duration: 30, access_pub_key: access.pubKeyHex }, { timeoutMs: 60_000 });
    const lease = await consumer.getLease(lease_hash);
    expect([lease.state, lease.provider, typeof lease.start_time]).toEqual(['accepted', net.address(1), 'bigint']);
    expect(lease.start_time).toBeGreaterThan(2n ** 53n);
    expect((await consumer.listLeases({ state: 'accepted' })).map((l) => l.lease_hash)).toContain(lease_hash);
    // The consumer's node holds the certificate the lease named.
    const cert = await consumer.getCertificate(net.address(1));
    expect(cert.hash).toBe(lease.certificate_hash);
    expect(await consumer.getCertificateByHash(cert.hash)).toEqual(cert);
    expect((await consumer.listProviders()).find((x) => x.address === net.address(1))).toMatchObject({ used_vcpus: 1, used_memory_mb: 512, used_disk_gb: 1, total_leases: 1 });
    const provider = api(1);
    await waitUntil(async () => (await provider.getVm(lease_hash).catch(() => undefined))?.status === 'running', { timeoutMs: 60_000, what: 'the VM running' });
    expect((await provider.listVms()).map((v) => v.lease_hash)).toContain(lease_hash);
    expect(await provider.exec(lease_hash, { command: 'echo hi' })).toMatchObject({ exit_code: 0, stdout: 'hi\n' });
    const timekeeper = api(0);
    await waitUntil(async () => (await timekeeper.getLease(lease_hash).catch(() => undefined)) !== undefined, { timeoutMs: 20_000, what: 'the lease on node 0' });
    const att = await timekeeper.requestAttestation(lease_hash);
    expect(typeof att.timestamp).toBe('bigint');
    const headers = tunnelAuthHeaders(access, lease_hash, BigInt(Date.now()) * 1_000_000n);
    const tunnel = await consumer.openTunnel(lease_hash, { timestamp: BigInt(headers['X-Timestamp']), signature: headers['X-Signature'] });
    const banner = await new Promise<string>((resolve, reject) => {
      tunnel.once('data', (d: Buffer) => resolve(d.toString('utf8')));
      tunnel.once('error', reject);
    });
    tunnel.destroy();
    expect(banner).toMatch(/^SSH-2\.0-/);

    // typed errors on the lease routes
    const notOwn = await caught(provider.cancelLease(lease_hash));
    expect([notOwn.status, notOwn.code, notOwn.retryable]).toEqual([403, 'LEASE_NOT_OWN', false]);
    const accepted = await caught(consumer.cancelLease(lease_hash));
    expect([accepted.status, accepted.code, accepted.retryable, accepted.opens_at]).toEqual([409, 'LEASE_NOT_CANCELLABLE', false, undefined]);
    const noToken = await caught(api(2, false).requestLease({ vcpus: 1, duration: 30, access_pub_key: access.pubKeyHex }));
    expect([noToken.status, noToken.code, noToken.retryable]).toEqual([401, 'UNAUTHORIZED', false]);
  }, 180_000);

  it('raises typed errors with code and retryable', async () => {
    const consumer = api(2);
    const missing = await caught(consumer.getBlock('0'.repeat(64)));
    expect([missing.status, missing.code, missing.retryable]).toEqual([404, 'BLOCK_NOT_FOUND', false]);
    const noLease = await caught(consumer.getLease('1'.repeat(64)));
    expect([noLease.status, noLease.code]).toEqual([404, 'LEASE_NOT_FOUND']);
    // A receive of a send the node does not know: retryable (the source may arrive later).
    const wallet = generateKeyPair();
    const difficulty = difficultyOf((await consumer.node()).pow_difficulty);
    const orphan = await attachPow(
      signBlock(
        { type: 'receive' as const, account: wallet.address, previous: '0', balance: 1n, timestamp: BigInt(Date.now()) * 1_000_000n, asset: 'XUSD' as const, pub_key: wallet.pubKeyHex, source: '2'.repeat(64) },
        wallet,
        networkId,
      ),
      difficulty,
    );
    const later = await caught(consumer.submitTypedBlock(orphan));
    expect([later.status, later.retryable]).toEqual([503, true]);
    // Refused before sending: the contract's code, status 0.
    const bad = await caught(consumer.getChain(wallet.address, { limit: 5000 }));
    expect([bad.status, bad.code, bad.field]).toEqual([0, 'INVALID_FIELD', 'limit']);
  });

  it('aborts a call: before it starts, and mid-flight', async () => {
    const consumer = api(2);
    const early = await caught(consumer.node({ signal: AbortSignal.abort() }));
    expect([early.code, early.status]).toEqual(['ABORTED', 0]);
    const leases = await consumer.listLeases({ state: 'accepted' });
    const provider = api(1);
    const vm = (await provider.listVms()).find((v) => leases.some((l) => l.lease_hash === v.lease_hash) && v.status === 'running');
    expect(vm).toBeDefined();
    const started = Date.now();
    const slow = await caught(provider.exec(vm!.lease_hash, { command: 'sleep 20' }, { signal: AbortSignal.timeout(300) }));
    expect(slow.code).toBe('ABORTED');
    expect(Date.now() - started).toBeLessThan(5_000);
    const timedOut = await caught(provider.exec(vm!.lease_hash, { command: 'sleep 20' }, { timeoutMs: 300 }));
    expect([timedOut.code, timedOut.retryable]).toEqual(['TIMEOUT', true]);
  });

  it('saw only answers on the contract', () => {
    expect(contractChecks.answers).toBeGreaterThan(40);
  });
});
