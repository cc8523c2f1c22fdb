import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type OperationId, ROUTE_DEFS } from '@xe/api-contract';
import { type Block, parseBlock } from '@xe/core-types';
import { XeClient } from '../../src/index.js';
import { ADDR, certificate, H, hashOf, lease, nodeInfo, provider, sendBlock, T, text, U64_MAX, vm } from '../support/bodies.js';
import { Peer } from '../support/peer.js';

const TOKEN = 's3cret';
const peer = new Peer();
let client: XeClient;

beforeAll(async () => {
  await peer.start();
  client = new XeClient({ baseUrl: peer.url, operatorToken: TOKEN, timeoutMs: 5000 });
});
afterAll(() => peer.stop());

interface Case {
  /** what the peer answers: method, path, status, exact body */
  answer: [method: string, path: string, status: number, body: string, contentType?: string];
  call: (c: XeClient) => Promise<unknown>;
  /** what the peer must have received: method and URL (path and query), and the body text */
  sent: { method: string; url: string; body?: string; operator?: boolean };
  check: (reply: never) => void;
}

const block = sendBlock();

/** One case per route: a route without a client method and a case does not compile. */
const cases: Record<Exclude<OperationId, 'events' | 'openTunnel'>, Case> = {
  root: {
    answer: ['GET', '/', 200, text({ name: 'xe-node', version: '0.1.0', network_id: 'devnet-1', address: ADDR, peer_id: 'p', node_id: 'p', routes: [], endpoints: [{ method: 'GET', path: '/node', description: 'node' }] })],
    call: (c) => c.root(),
    sent: { method: 'GET', url: '/' },
    check: (r: { node_id: string }) => expect(r.node_id).toBe('p'),
  },
  node: {
    answer: ['GET', '/node', 200, text(nodeInfo())],
    call: (c) => c.node(),
    sent: { method: 'GET', url: '/node' },
    check: (r: { finality: { confirmed_blocks: bigint }; lease_timing: { escrow_expiry_ns: bigint }; peers: number }) => {
      expect(r.finality.confirmed_blocks).toBe(U64_MAX);
      expect(r.lease_timing.escrow_expiry_ns).toBe(3600000000000n);
      expect(r.peers).toBe(2);
    },
  },
  health: {
    answer: ['GET', '/health', 200, '{"status":"ok"}'],
    call: (c) => c.health(),
    sent: { method: 'GET', url: '/health' },
    check: (r) => expect(r).toEqual({ status: 'ok' }),
  },
  ready: {
    answer: ['GET', '/ready', 503, '{"ready":false,"synced":false,"peered":true,"timekeepers_reachable":true}'],
    call: (c) => c.ready(),
    sent: { method: 'GET', url: '/ready' },
    check: (r) => expect(r).toEqual({ ready: false, synced: false, peered: true, timekeepers_reachable: true }),
  },
  metrics: {
    answer: ['GET', '/metrics', 200, '# TYPE xe_ledger_blocks_total counter\nxe_ledger_blocks_total 42\n', 'text/plain; version=0.0.4'],
    call: (c) => c.metrics(),
    sent: { method: 'GET', url: '/metrics' },
    check: (r) => expect(r).toContain('xe_ledger_blocks_total 42'),
  },
  openapi: {
    answer: ['GET', '/openapi.json', 200, '{"openapi":"3.1.0","info":{"title":"xe-node HTTP API","version":"0.1.0"},"paths":{}}'],
    call: (c) => c.openapi(),
    sent: { method: 'GET', url: '/openapi.json' },
    check: (r: { openapi: string }) => expect(r.openapi).toBe('3.1.0'),
  },
  listLeases: {
    answer: ['GET', '/leases', 200, text([lease('accepted'), lease('created')])],
    call: (c) => c.listLeases({ state: 'accepted', offset: 5, limit: 2 }),
    sent: { method: 'GET', url: '/leases?state=accepted&offset=5&limit=2' },
    check: (r: { cost: bigint; start_time: bigint; vcpus: number }[]) => {
      expect(r).toHaveLength(2);
      expect(r[0]!.cost).toBe(18446744073709551615n);
      expect(r[0]!.start_time).toBe(1709500180000000001n);
      expect(r[0]!.vcpus).toBe(2);
    },
  },
  getLease: {
    answer: ['GET', `/leases/${H}`, 200, text(lease())],
    call: (c) => c.getLease(H),
    sent: { method: 'GET', url: `/leases/${H}` },
    check: (r: { stake: bigint }) => expect(r.stake).toBe(9007199254740993n),
  },
  requestLease: {
    answer: ['POST', '/lease/request', 200, `{"lease_hash":"${H}"}`],
    call: (c) => c.requestLease({ vcpus: 1, memory_mb: 1024, disk_gb: 10, duration: 3600, access_pub_key: hashOf('access') }),
    sent: {
      method: 'POST',
      url: '/lease/request',
      body: `{"vcpus":1,"memory_mb":1024,"disk_gb":10,"duration":3600,"access_pub_key":"${hashOf('access')}"}`,
      operator: true,
    },
    check: (r) => expect(r).toEqual({ lease_hash: H }),
  },
  cancelLease: {
    answer: ['POST', `/leases/${H}/cancel`, 200, `{"lease_hash":"${H}","state":"cancelled"}`],
    call: (c) => c.cancelLease(H),
    sent: { method: 'POST', url: `/leases/${H}/cancel`, body: '', operator: true },
    check: (r) => expect(r).toEqual({ lease_hash: H, state: 'cancelled' }),
  },
  listProviders: {
    answer: ['GET', '/providers', 200, text([provider()])],
    call: (c) => c.listProviders(),
    sent: { method: 'GET', url: '/providers' },
    check: (r: { used_vcpus: number }[]) => expect(r[0]!.used_vcpus).toBe(4),
  },
  requestAttestation: {
    answer: ['POST', '/attestation/request', 200, text({ public_key: hashOf('tk'), timestamp: T, signature: 'ab'.repeat(64) })],
    call: (c) => c.requestAttestation(H),
    sent: { method: 'POST', url: '/attestation/request', body: `{"lease_hash":"${H}"}` },
    check: (r: { timestamp: bigint }) => expect(r.timestamp).toBe(T),
  },
  listVms: {
    answer: ['GET', '/vms', 200, text([vm()])],
    call: (c) => c.listVms(),
    sent: { method: 'GET', url: '/vms' },
    check: (r: { created_at: bigint }[]) => expect(r[0]!.created_at).toBe(T),
  },
  getVm: {
    answer: ['GET', `/vms/${H}`, 200, text(vm())],
    call: (c) => c.getVm(H),
    sent: { method: 'GET', url: `/vms/${H}` },
    check: (r: { status: string }) => expect(r.status).toBe('running'),
  },
  exec: {
    answer: ['POST', `/vms/${H}/exec`, 200, '{"exit_code":0,"stdout":"Linux\\n","stderr":""}'],
    call: (c) => c.exec(H, { command: 'uname', timeout_ms: 5000 }),
    sent: { method: 'POST', url: `/vms/${H}/exec`, body: '{"command":"uname","timeout_ms":5000}', operator: true },
    check: (r) => expect(r).toEqual({ exit_code: 0, stdout: 'Linux\n', stderr: '' }),
  },
  getAccount: {
    answer: ['GET', `/accounts/${ADDR}`, 200, text({
        address: ADDR,
        balances: { XE: U64_MAX, XUSD: 5 },
        pending: { XE: 0, XUSD: 1 },
        frontier: H,
        block_count: 7,
        head: { frontier: H, height: 8, balances: { XE: U64_MAX, XUSD: 4 } },
      }),
    ],
    call: (c) => c.getAccount(ADDR),
    sent: { method: 'GET', url: `/accounts/${ADDR}` },
    check: (r: { balances: { XE: bigint }; head: { height: bigint; balances: { XE: bigint } } }) =>
      expect([r.balances.XE, r.head.height, r.head.balances.XE]).toEqual([U64_MAX, 8n, U64_MAX]),
  },
  getBalance: {
    answer: [
      'GET',
      `/accounts/${ADDR}/balance`,
      200,
      text({ address: ADDR, balances: { XE: 0, XUSD: 0 }, spendable: { XE: 0, XUSD: 0 }, final_height: 0, head: { frontier: '0', height: 0, balances: { XE: 0, XUSD: 0 } } }),
    ],
    call: (c) => c.getBalance(ADDR),
    sent: { method: 'GET', url: `/accounts/${ADDR}/balance` },
    check: (r: { final_height: bigint; head?: { frontier: string } }) => expect([r.final_height, r.head?.frontier]).toEqual([0n, '0']),
  },
  getChain: {
    answer: ['GET', `/accounts/${ADDR}/chain`, 200, text({ address: ADDR, total: 1, blocks: [{ ...block, confirmed: true }] })],
    call: (c) => c.getChain(ADDR, { offset: 0, limit: 10 }),
    sent: { method: 'GET', url: `/accounts/${ADDR}/chain?offset=0&limit=10` },
    check: (r: { blocks: { balance: bigint; pow_nonce: bigint; confirmed: boolean }[] }) => {
      expect(r.blocks[0]!.balance).toBe(U64_MAX);
      expect(r.blocks[0]!.pow_nonce).toBe(12345678901234567890n);
      expect(r.blocks[0]!.confirmed).toBe(true);
    },
  },
  getPending: {
    answer: [
      'GET',
      `/pending/${ADDR}`,
      200,
      `{"address":"${ADDR}","pending":[{"SendHash":"${H}","Source":"${hashOf('a')}","Destination":"${ADDR}","Amount":18446744073709551615,"Asset":"XUSD"}]}`,
    ],
    call: (c) => c.getPending(ADDR),
    sent: { method: 'GET', url: `/pending/${ADDR}` },
    check: (r: { pending: { Amount: bigint }[] }) => expect(r.pending[0]!.Amount).toBe(U64_MAX),
  },
  submitBlock: {
    answer: ['POST', '/blocks', 201, `{"status":"accepted","hash":"${block.hash}"}`],
    call: (c) => c.submitBlock(parseBlock(block)),
    sent: { method: 'POST', url: '/blocks', body: text(parseBlock(block)) },
    check: (r) => expect(r).toEqual({ status: 'accepted', hash: block.hash }),
  },
  submitTypedBlock: {
    answer: ['POST', '/blocks/send', 201, text({ ...block, confirmed: false })],
    call: (c) => c.submitTypedBlock(parseBlock(block)),
    sent: { method: 'POST', url: '/blocks/send', body: text(parseBlock(block)) },
    check: (r: Block & { confirmed: boolean }) => {
      expect(r.balance).toBe(U64_MAX);
      expect(r.confirmed).toBe(false);
    },
  },
  recentBlocks: {
    answer: ['GET', '/blocks/recent', 200, text([{ ...block, confirmed: true }])],
    call: (c) => c.recentBlocks({ limit: 5, since: 1709500180000000000n }),
    sent: { method: 'GET', url: '/blocks/recent?limit=5&since=1709500180000000000' },
    check: (r: { timestamp: bigint }[]) => expect(r[0]!.timestamp).toBe(T),
  },
  getBlock: {
    answer: ['GET', `/blocks/${block.hash}`, 200, text({ ...block, confirmed: true })],
    call: (c) => c.getBlock(block.hash),
    sent: { method: 'GET', url: `/blocks/${block.hash}` },
    check: (r: { hash: string }) => expect(r.hash).toBe(block.hash),
  },
  getCertificate: {
    answer: ['GET', `/certificate/${hashOf('provider')}`, 200, text(certificate())],
    call: (c) => c.getCertificate(hashOf('provider')),
    sent: { method: 'GET', url: `/certificate/${hashOf('provider')}` },
    check: (r: { expires_at: bigint }) => expect(r.expires_at).toBe(T + 604800000000000n),
  },
  getCertificateByHash: {
    answer: ['GET', `/certificate/hash/${hashOf('cert')}`, 200, text(certificate())],
    call: (c) => c.getCertificateByHash(hashOf('cert')),
    sent: { method: 'GET', url: `/certificate/hash/${hashOf('cert')}` },
    check: (r: { hash: string }) => expect(r.hash).toBe(hashOf('cert')),
  },
  listConflicts: {
    answer: ['GET', '/conflicts', 200, text([{ account: ADDR, previous: '0', kept: H, rejected: hashOf('r'), detected_at: T }])],
    call: (c) => c.listConflicts(),
    sent: { method: 'GET', url: '/conflicts' },
    check: (r: { detected_at: bigint }[]) => expect(r[0]!.detected_at).toBe(T),
  },
};

describe('every route', () => {
  it('has a client method and a case here (events and the tunnel have their own tests)', () => {
    const methods = ROUTE_DEFS.map((r) => r.operationId);
    for (const m of methods) expect(typeof (client as unknown as Record<string, unknown>)[m]).toBe('function');
    expect([...Object.keys(cases), 'events', 'openTunnel'].sort()).toEqual([...methods].sort());
  });

  for (const [name, c] of Object.entries(cases)) {
    it(`${name}: sends the method, path, query and body, and reads the answer`, async () => {
      const [method, path, status, body, contentType] = c.answer;
      peer.on(method, path, { status, body, contentType: contentType ?? 'application/json' });
      const reply = await c.call(client);
      const got = peer.last();
      expect({ method: got.method, url: got.url }).toEqual({ method: c.sent.method, url: c.sent.url });
      if (c.sent.body !== undefined) expect(got.body).toBe(c.sent.body);
      expect(got.headers.authorization).toBe(c.sent.operator === true ? `Bearer ${TOKEN}` : undefined);
      c.check(reply as never);
    });
  }
});

describe('64-bit integers', () => {
  it('round-trip exactly: 18446744073709551615 and 1709500180000000001 out and back', async () => {
    const b = parseBlock({ ...sendBlock(), balance: 18446744073709551615n, timestamp: 1709500180000000001n });
    peer.json('POST', '/blocks/send', 201, text({ ...b, confirmed: true }));
    const stored = await client.submitTypedBlock(b);
    expect(peer.last().body).toContain('"balance":18446744073709551615,"timestamp":1709500180000000001,');
    expect(stored.balance).toBe(18446744073709551615n);
    expect(stored.timestamp).toBe(1709500180000000001n);
    expect(stored.pow_nonce).toBe(12345678901234567890n);
  });
});
