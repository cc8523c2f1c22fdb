import { type Attestation, type Block, createLogger, DEVNET_LEASE_PARAMS, type Logger, type GenesisBundle, type JsonValue, type Resources, silentLogger, type VmInfo, XeError } from '@xe/core-types';
import { type KeyPair, keyPairFromSeed, signAttestation } from '@xe/crypto';
import { createGenesisBundle, Ledger, MemoryStore } from '@xe/ledger';
import { Metrics } from '../../src/metrics.js';
import { ChainWriter } from '../../src/services/chain-writer.js';
import { Housekeeping } from '../../src/services/housekeeping.js';
import { MarketplaceBook, parseMarketplace } from '../../src/services/marketplace.js';
import type { AttestPort, NetPort, TunnelPort, VmPort } from '../../src/services/ports.js';
import { FakeClock } from './fake-clock.js';

/** A fixed start time for service tests (unix ns). */
export const T0 = 1_800_000_000_000_000_000n;
export const NS_PER_MS = 1_000_000n;
export const LEASE = DEVNET_LEASE_PARAMS;

const key = (n: number) => keyPairFromSeed(new Uint8Array(32).fill(n));
export const KEYS = { provider: key(0x71), consumer: key(0xc1), timekeeper: key(0x31), xe: key(0xe1), xusd: key(0xe2) };

let bundle: Promise<GenesisBundle> | undefined;

/** A devnet-parameter bundle: one timekeeper (threshold 1), 1000 XUSD each to the provider and the consumer. */
export function serviceBundle(): Promise<GenesisBundle> {
  bundle ??= createGenesisBundle({
    networkId: 'services-unit',
    difficulty: 0xf000000000000000n,
    timekeepers: { keys: [KEYS.timekeeper.pubKeyHex], threshold: 1 },
    lease: LEASE,
    representatives: [{ address: KEYS.timekeeper.address, weight: 1n }],
    treasuryKeys: { XE: KEYS.xe, XUSD: KEYS.xusd },
    allocations: [
      { address: KEYS.provider.address, asset: 'XUSD', amount: 1_000_000_000n },
      { address: KEYS.consumer.address, asset: 'XUSD', amount: 1_000_000_000n },
    ],
    timestamp: T0 - 3600n * 1_000_000_000n,
  });
  return bundle;
}

/** The timekeepers, as the services see them: real signatures at the fake clock's time; failures on demand. */
export class FakeAttest implements AttestPort {
  readonly calls: string[] = [];
  /** Codes of the next gathers to fail, in order. */
  readonly failures: string[] = [];

  constructor(private readonly time: FakeClock) {}

  async gather(req: { lease_hash: string; block: Block }): Promise<Attestation[]> {
    this.calls.push(req.lease_hash);
    const code = this.failures.shift();
    if (code) throw new XeError(code, `timekeepers: ${code}`);
    return [signAttestation(KEYS.timekeeper, req.lease_hash, this.time.clock())];
  }
}

/** A VM backend that boots instantly, or never (`hang`) until its signal aborts. */
export class FakeVms implements VmPort {
  readonly running = new Map<string, VmInfo>();
  readonly provisioned: string[] = [];
  readonly tornDown: string[] = [];
  hang = false;
  /** The SSH host key line the VMs report (`host_public_key`, as the real backends do), when set. */
  hostKey: string | undefined;

  constructor(private readonly time: FakeClock) {}

  provision(leaseHash: string, resources: Resources, _key: string, options: { signal?: AbortSignal } = {}): Promise<VmInfo> {
    this.provisioned.push(leaseHash);
    if (this.hang) {
      return new Promise((_resolve, reject) => options.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true }));
    }
    const info: VmInfo = { lease_hash: leaseHash, status: 'running', resources, created_at: this.time.clock(), ...(this.hostKey ? { host_public_key: this.hostKey } : {}) };
    this.running.set(leaseHash, info);
    return Promise.resolve(info);
  }

  async teardown(leaseHash: string): Promise<void> {
    this.tornDown.push(leaseHash);
    this.running.delete(leaseHash);
  }

  async get(leaseHash: string): Promise<VmInfo | undefined> {
    return this.running.get(leaseHash);
  }

  async reconcile(): Promise<{ adopted: string[]; removed: string[]; lost: string[] }> {
    return { adopted: [], removed: [], lost: [] };
  }
}

type Handler = (address: string, req: JsonValue) => Promise<JsonValue>;

/**
 * The network between the nodes of one test: marketplace messages go through the same
 * parse the gossip validator applies and reach every subscriber; request/response
 * protocols reach the handler registered for them.
 */
export class FakeNet implements NetPort {
  readonly blocks: Block[] = [];
  readonly marketplace: Record<string, unknown>[] = [];
  readonly certificates: string[] = [];
  readonly requests: Array<{ address: string; protocol: string }> = [];
  private readonly subscribers: Array<(msg: ReturnType<typeof parseMarketplace>) => void> = [];
  private readonly handlers = new Map<string, Handler>();

  onMarketplace(fn: (msg: ReturnType<typeof parseMarketplace>) => void): void {
    this.subscribers.push(fn);
  }

  handle(protocol: string, fn: Handler): void {
    this.handlers.set(protocol, fn);
  }

  async publishBlock(block: Block): Promise<void> {
    this.blocks.push(block);
  }

  async publishMarketplace(msg: Record<string, unknown>): Promise<void> {
    this.marketplace.push(msg);
    const parsed = parseMarketplace(msg as JsonValue);
    for (const s of this.subscribers) s(parsed);
  }

  async publishCertificate(cert: { hash: string }): Promise<void> {
    this.certificates.push(cert.hash);
  }

  async requestByAddress(address: string, protocol: string, req: JsonValue): Promise<JsonValue> {
    this.requests.push({ address, protocol });
    const h = this.handlers.get(protocol);
    if (!h) throw new XeError('PEER_UNREACHABLE', `no peer answers ${protocol}`);
    return h(address, req);
  }

  async openStreamByAddress(): Promise<never> {
    throw new XeError('PEER_UNREACHABLE', 'no streams in this test');
  }
}

export class FakeTunnels implements TunnelPort {
  readonly closed: string[] = [];
  closeLease(leaseHash: string): void {
    this.closed.push(leaseHash);
  }
}

/** One account's writer on the shared ledger, committing like the node does (a rejection throws; so does a commit `failCommits` names). */
export function writerFor(
  w: { ledger: Ledger; bundle: GenesisBundle; time: FakeClock; net: FakeNet; failCommits: Array<{ type: Block['type']; code: string }> },
  k: KeyPair,
): ChainWriter {
  return new ChainWriter(
    { key: k, networkId: w.bundle.network_id, difficulty: w.bundle.pow_difficulty },
    {
      accountState: async () => {
        const a = await w.ledger.getAccount(k.address);
        if (!a || a.frontier === '0') return undefined;
        const head = await w.ledger.getBlock(a.frontier);
        return { frontier: a.frontier, frontierTimestamp: head?.timestamp ?? 0n, balances: a.balances };
      },
      commit: async (block) => {
        const i = w.failCommits.findIndex((f) => f.type === block.type);
        if (i >= 0) {
          const [f] = w.failCommits.splice(i, 1);
          throw new XeError(f!.code, `commit of ${block.type} failed (test)`, { retryable: true });
        }
        const r = await w.ledger.addBlock(block, { origin: 'live' });
        if (r.status === 'rejected') throw new XeError(r.code, `own ${block.type} rejected: ${r.message}`, { retryable: r.retryable });
      },
      publish: (b) => w.net.publishBlock(b),
      clock: w.time.clock,
      logger: silentLogger,
    },
  );
}

export interface LeaseWorld {
  time: FakeClock;
  /** The next commit of a block of this type fails with this code (once per entry). */
  failCommits: Array<{ type: Block['type']; code: string }>;
  /** The services' logger; its records land in `logs`. */
  logger: Logger;
  logs: Array<{ level: string; msg: string; [field: string]: unknown }>;
  /** True once a record with this message was logged. */
  logged(msg: string): boolean;
  bundle: GenesisBundle;
  ledger: Ledger;
  net: FakeNet;
  attest: FakeAttest;
  vms: FakeVms;
  tunnels: FakeTunnels;
  metrics: Metrics;
  writers: { provider: ChainWriter; consumer: ChainWriter };
  books: { provider: MarketplaceBook; consumer: MarketplaceBook };
}

/**
 * A real ledger on the memory store, on a fake clock at T0, with the provider's and the
 * consumer's genesis funds received (by the real `Housekeeping`).
 */
export async function leaseWorld(): Promise<LeaseWorld> {
  const b = await serviceBundle();
  const time = new FakeClock(T0);
  const ledger = await Ledger.open(new MemoryStore(), b, { clock: time.clock });
  const net = new FakeNet();
  const base = { ledger, bundle: b, time, net, failCommits: [] as LeaseWorld['failCommits'] };
  const writers = { provider: writerFor(base, KEYS.provider), consumer: writerFor(base, KEYS.consumer) };
  for (const [k, writer] of [
    [KEYS.provider, writers.provider],
    [KEYS.consumer, writers.consumer],
  ] as const) {
    await new Housekeeping({ address: k.address }, { ledger, writer, clock: time.clock, timers: time.timers, logger: silentLogger }).receivePending();
  }
  const logs: LeaseWorld['logs'] = [];
  return {
    ...base,
    logger: createLogger('test', { level: 'debug', sink: (line) => logs.push(JSON.parse(line)) }),
    logs,
    logged: (msg) => logs.some((r) => r.msg === msg),
    attest: new FakeAttest(time),
    vms: new FakeVms(time),
    tunnels: new FakeTunnels(),
    metrics: new Metrics(),
    writers,
    books: { provider: new MarketplaceBook(time.clock), consumer: new MarketplaceBook(time.clock) },
  };
}
