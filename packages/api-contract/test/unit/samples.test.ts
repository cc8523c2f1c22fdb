import { describe, expect, it } from '@jest/globals';
import { BLOCK_FIELDS, BLOCK_TYPES, parseBlock, parseJson, stringifyJson } from '@xe/core-types';
import type { z } from 'zod';
import {
  Account,
  AttestationReply,
  Balance,
  BLOCK_SCHEMAS,
  BlockAccepted,
  BlockSchema,
  CancelWindowErrorBody,
  Certificate,
  Chain,
  Conflict,
  ErrorBody,
  EVENT_SCHEMAS,
  ExecRequest,
  ExecResult,
  Health,
  Lease,
  LeaseCancelled,
  LeaseRequest,
  NodeInfo,
  Pending,
  Provider,
  Readiness,
  ROUTES_BY_ID,
  RootInfo,
  StoredBlockSchema,
  Vm,
} from '../../src/index.js';
import { hashOf, lease, nodeInfo, provider, START_TIME, seedNodeInfo, seedProvider, sendBlock, vector, wire } from './fixtures.js';

function ok<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`expected a match: ${JSON.stringify(r.error.issues, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`);
  return r.data;
}

function missing(schema: z.ZodType, value: unknown): string[] {
  const r = schema.safeParse(value);
  return r.success ? [] : r.error.issues.map((i) => i.path.join('.')).sort();
}

describe('u64 and int64 fields stay exact through the codec', () => {
  it('reads 18446744073709551615 and 1709500180000000001 as bigint, exactly', () => {
    const l = ok(Lease, parseJson(`{"lease_hash":"${hashOf('l')}","consumer":"${hashOf('c')}","provider":"${hashOf('p')}","vcpus":1,"memory_mb":1024,"disk_gb":10,"duration":3600,"access_pub_key":"${hashOf('k')}","cost":18446744073709551615,"stake":9007199254740993,"start_time":1709500180000000001,"certificate_hash":"${hashOf('x')}","settled":false,"state":"accepted"}`));
    expect(l.cost).toBe(18446744073709551615n);
    expect(l.stake).toBe(9007199254740993n);
    expect(l.start_time).toBe(1709500180000000001n);
    expect(l.vcpus).toBe(1);
    expect(stringifyJson(l)).toContain('"cost":18446744073709551615,');
  });

  it('refuses 2^64, negatives, fractions and unsafe JS numbers in u64 fields', () => {
    for (const cost of [18446744073709551616n, -1n, 1.5, 2 ** 60, '5']) {
      expect(Lease.safeParse({ ...lease(), cost }).success).toBe(false);
    }
    expect(ok(Lease, { ...lease(), cost: 5 }).cost).toBe(5n);
  });
});

describe('answers of api-server today and the fields SPEC §11 adds', () => {
  it('leases, VMs, exec, attestations, accounts, conflicts, health and readiness validate as they are', () => {
    for (const state of ['created', 'accepted', 'settled', 'unfulfilled', 'expired', 'cancelled']) ok(Lease, wire(lease(state)));
    ok(Vm, wire({ lease_hash: hashOf('l'), status: 'running', resources: { vcpus: 2, memory_mb: 1024, disk_gb: 10 }, created_at: START_TIME }));
    ok(ExecResult, wire({ exit_code: 0, stdout: 'ran: uname -a\n', stderr: '' }));
    ok(AttestationReply, wire({ public_key: hashOf('tk'), timestamp: START_TIME, signature: 'ab'.repeat(64) }));
    const account = ok(
      Account,
      wire({
        address: hashOf('account'),
        balances: { XE: 12345678901234567890n, XUSD: 5000000n },
        pending: { XE: 0n, XUSD: 1000000n },
        frontier: hashOf('frontier'),
        block_count: 7,
        head: { frontier: hashOf('head'), height: 8, balances: { XE: 12345678901234567890n, XUSD: 4000000n } },
      }),
    );
    expect(account.balances.XE).toBe(12345678901234567890n);
    expect(account.head.height).toBe(8n);
    // nothing confirmed yet: frontier "0"; the head is required (ours)
    ok(Account, wire({ address: hashOf('a'), balances: { XE: 0n, XUSD: 0n }, pending: { XE: 0n, XUSD: 0n }, frontier: '0', block_count: 0, head: { frontier: hashOf('h'), height: 1, balances: { XE: 0n, XUSD: 5n } } }));
    expect(missing(Account, wire({ address: hashOf('a'), balances: { XE: 0n, XUSD: 0n }, pending: { XE: 0n, XUSD: 0n }, frontier: '0', block_count: 0 }))).toEqual(['head']);
    ok(Conflict, wire({ account: hashOf('a'), previous: hashOf('p'), kept: hashOf('k'), rejected: hashOf('r'), detected_at: START_TIME }));
    ok(Health, wire({ status: 'ok' }));
    ok(Readiness, wire({ ready: false, synced: false, peered: true, timekeepers_reachable: true }));
    ok(BlockAccepted, wire({ status: 'duplicate', hash: hashOf('block') }));
  });

  it('/providers needs XE’s account, used_* and total_leases on top of the seed’s fields', () => {
    expect(missing(Provider, wire(seedProvider()))).toEqual(['account', 'total_leases', 'used_disk_gb', 'used_memory_mb', 'used_vcpus']);
    ok(Provider, wire(provider()));
  });

  it('/node needs XE’s id, public_key, peer_count, pow_difficulty, lease_timing and our pow_algorithm, finality', () => {
    expect(missing(NodeInfo, wire(seedNodeInfo()))).toEqual(['finality', 'id', 'lease_timing', 'peer_count', 'pow_algorithm', 'pow_difficulty', 'public_key']);
    const n = ok(NodeInfo, wire(nodeInfo()));
    expect(n.finality.total_weight).toBe(18446744073709551615n);
    expect(n.lease_timing.escrow_expiry_ns).toBe(31536000000000000n);
    expect(ok(NodeInfo, wire({ ...nodeInfo(), pow_difficulty: '0', certificate: null })).certificate).toBeNull();
    expect(NodeInfo.safeParse(wire({ ...nodeInfo(), pow_difficulty: 'FFFFF80000000000' })).success).toBe(false);
  });

  it('/ needs XE’s node_id and endpoints', () => {
    const seed = {
      name: 'xe-node',
      version: '0.1.0',
      network_id: 'testnet-1',
      address: hashOf('node address'),
      peer_id: '12D3KooWExamplePeer',
      routes: [{ method: 'GET', path: '/node', auth: 'none', description: 'node' }],
    };
    expect(missing(RootInfo, wire(seed))).toEqual(['endpoints', 'node_id']);
    ok(RootInfo, wire({ ...seed, node_id: '12D3KooWExamplePeer', endpoints: [{ method: 'GET', path: '/node', description: 'node' }] }));
  });

  it('cancel answers {lease_hash, state: "cancelled"} (SPEC); api-server’s {lease_hash, block_hash} lacks state', () => {
    expect(missing(LeaseCancelled, wire({ lease_hash: hashOf('l'), block_hash: hashOf('b') }))).toEqual(['state']);
    ok(LeaseCancelled, wire({ lease_hash: hashOf('l'), state: 'cancelled', block_hash: hashOf('b') }));
  });

  it('error bodies are {error, code, retryable}; api-server’s {error, code} lacks retryable', () => {
    expect(missing(ErrorBody, wire({ error: 'lease x not found', code: 'LEASE_NOT_FOUND' }))).toEqual(['retryable']);
    ok(ErrorBody, wire({ error: 'source not yet known', code: 'UNKNOWN_SOURCE', retryable: true }));
    const timeout = ROUTES_BY_ID.requestLease.errors[504].schema;
    expect(ok(timeout, wire({ error: 'no accept within 600 s', code: 'ACCEPT_TIMEOUT', retryable: false, lease_hash: hashOf('p') })).lease_hash).toBe(hashOf('p'));
    expect(missing(timeout, wire({ error: 'x', code: 'ACCEPT_TIMEOUT', retryable: false }))).toEqual(['lease_hash']);
    const early = ok(CancelWindowErrorBody, parseJson('{"error":"cancel window opens later","code":"LEASE_NOT_CANCELLABLE","retryable":true,"opens_at":1709500180000000001}'));
    expect(early.opens_at).toBe(1709500180000000001n);
  });
});

describe('the routes of XE’s clients, with XE’s documented bodies', () => {
  it('balance, chain, pending and certificates', () => {
    const b = ok(Balance, parseJson(`{"address":"${hashOf('a')}","balances":{"XE":300000000,"XUSD":181469175},"spendable":{"XE":300000000,"XUSD":18446744073709551615},"final_height":7}`));
    expect(b.spendable.XUSD).toBe(18446744073709551615n);
    const stored = { ...sendBlock(), confirmed: true };
    const chain = ok(Chain, wire({ address: hashOf('a'), total: 7, blocks: [stored] }));
    expect(chain.blocks[0]!.balance).toBe(18446744073709551615n);
    expect(chain.blocks[0]!.pow_nonce).toBe(12345678901234567890n);
    const pending = ok(
      Pending,
      parseJson(`{"address":"${hashOf('d')}","pending":[{"SendHash":"${hashOf('s')}","Source":"${hashOf('a')}","Destination":"${hashOf('d')}","Amount":411203,"Asset":"XUSD"}]}`),
    );
    expect(pending.pending[0]!.Amount).toBe(411203n);
    const cert = vector('lease-lifecycle.json') as { certificate: unknown };
    ok(Certificate, cert.certificate);
  });

  it('the blocks of shared/vectors validate as submitted blocks (where parseBlock admits them) and, with confirmed, as stored blocks', () => {
    const all = [
      ...(vector('blocks.json') as { blocks: unknown[] }).blocks,
      ...(vector('lease-lifecycle.json') as { blocks: unknown[] }).blocks,
      ...(vector('lease-cancel-attested.json') as { blocks: unknown[] }).blocks,
      vector('xe-testnet-0003-ledger-genesis.json'),
      vector('xe-embedded-ledger-genesis.json'),
    ] as Record<string, unknown>[];
    const types = new Set<string>();
    for (const raw of all) {
      // The contract follows core-types' field sets: it admits a vector exactly when parseBlock does.
      let parsed: unknown;
      try {
        parsed = parseBlock(raw);
      } catch {
        expect({ hash: raw.hash, contract: BlockSchema.safeParse(raw).success }).toEqual({ hash: raw.hash, contract: false });
        continue;
      }
      const b = ok(BlockSchema, raw);
      expect(b).toEqual(parsed);
      ok(StoredBlockSchema, { ...raw, confirmed: false });
      types.add(b.type);
    }
    expect([...types].sort()).toEqual([...BLOCK_TYPES].sort());
  });

  it('a block schema admits exactly the field set core-types’ parseBlock admits', () => {
    const samples = Object.fromEntries(
      [...(vector('blocks.json') as { blocks: Record<string, unknown>[] }).blocks, ...(vector('lease-lifecycle.json') as { blocks: Record<string, unknown>[] }).blocks].map((b) => [
        b.type,
        b,
      ]),
    ) as Record<string, Record<string, unknown>>;
    for (const [type, block] of Object.entries(samples)) {
      const other = BLOCK_TYPES.flatMap((t) => [...BLOCK_FIELDS[t].required, ...BLOCK_FIELDS[t].optional]).filter(
        (f) => !(f in block) && ![...BLOCK_FIELDS[type as 'send'].required, ...BLOCK_FIELDS[type as 'send'].optional].includes(f),
      );
      for (const f of other) {
        const extra = { ...block, [f]: 1n };
        expect({ type, f, contract: BLOCK_SCHEMAS[type as 'send'].safeParse(extra).success }).toEqual({ type, f, contract: false });
        expect(() => parseBlock(extra)).toThrow();
      }
    }
  });

  it('refuses what parseBlock refuses: upper-case hex, a bad memo, an unknown type', () => {
    const b = sendBlock();
    expect(BlockSchema.safeParse({ ...b, account: hashOf('a').toUpperCase() }).success).toBe(false);
    expect(BlockSchema.safeParse({ ...b, memo: 'bell\u0007' }).success).toBe(false);
    expect(BlockSchema.safeParse({ ...b, memo: 'x'.repeat(65) }).success).toBe(false);
    expect(ok(BlockSchema, { ...b, memo: 'tab\tand\nnewline' }).type).toBe('send');
    expect(BlockSchema.safeParse({ ...b, type: 'mint' }).success).toBe(false);
    const { pow_nonce: _n, ...noNonce } = b;
    expect(ok(BlockSchema, noNonce).pow_nonce).toBeUndefined();
  });
});

describe('request bodies', () => {
  it('a lease request: SPEC’s body, missing resources read as absent, all-zero refused, unknown fields refused', () => {
    const r = ok(LeaseRequest, parseJson(`{"vcpus":1,"memory_mb":1024,"disk_gb":10,"duration":3600,"access_pub_key":"${hashOf('k')}"}`));
    expect(r).toEqual({ vcpus: 1, memory_mb: 1024, disk_gb: 10, duration: 3600, access_pub_key: hashOf('k') });
    expect(ok(LeaseRequest, { disk_gb: 1, duration: 60, access_pub_key: hashOf('k') }).vcpus).toBeUndefined();
    expect(missing(LeaseRequest, { duration: 60, access_pub_key: hashOf('k') })).toEqual(['vcpus']);
    expect(LeaseRequest.safeParse({ vcpus: 1, duration: 60, access_pub_key: hashOf('k'), gpu: 1 }).success).toBe(false);
    expect(LeaseRequest.safeParse({ vcpus: 4097, duration: 60, access_pub_key: hashOf('k') }).success).toBe(false);
    expect(LeaseRequest.safeParse({ vcpus: 1, duration: 0, access_pub_key: hashOf('k') }).success).toBe(false);
  });

  it('exec: a command is required and not blank; timeout_ms is 1..3600000', () => {
    expect(ok(ExecRequest, parseJson('{"command":"uname -a","timeout_ms":5000}'))).toEqual({ command: 'uname -a', timeout_ms: 5000 });
    expect(missing(ExecRequest, {})).toEqual(['command']);
    expect(ExecRequest.safeParse({ command: '  ' }).success).toBe(false);
    expect(ExecRequest.safeParse({ command: 'true', timeout_ms: 0 }).success).toBe(false);
  });

  it('query strings: limit 1..1000, a known state, since as int64', () => {
    const q = ROUTES_BY_ID.listLeases.query;
    expect(ok(q, { state: 'accepted', offset: '0', limit: '1' })).toEqual({ state: 'accepted', offset: 0, limit: 1 });
    expect(q.safeParse({ limit: '1001' }).success).toBe(false);
    expect(q.safeParse({ state: 'bogus' }).success).toBe(false);
    expect(ok(ROUTES_BY_ID.recentBlocks.query, { since: '1709500180000000001' }).since).toBe(1709500180000000001n);
  });
});

describe('events', () => {
  it('each event’s data has a schema', () => {
    expect(ok(EVENT_SCHEMAS.lease, wire(lease())).start_time).toBe(START_TIME);
    ok(EVENT_SCHEMAS.block, wire({ ...sendBlock(), confirmed: false }));
    ok(EVENT_SCHEMAS.confirmed, wire({ hash: hashOf('b'), account: hashOf('a') }));
    ok(EVENT_SCHEMAS.reset, {});
  });
});
