import { createRequire } from 'node:module';
import {
  type ApiServer,
  createApp,
  DEFAULT_RATE_LIMITS,
  HttpMetrics,
  type NodeInfo,
  type Readiness,
  startApiServer,
} from '@xe/api-server';
import {
  type AdmitResult,
  type Block,
  type Certificate,
  type Clock,
  createLogger,
  type GenesisBundle,
  isHash,
  type JsonValue,
  type Logger,
  type NodeRole,
  PROTOCOLS,
  parseBlock,
  parseCertificate,
  systemClock,
  TOPICS,
} from '@xe/core-types';
import { deriveAddress, type KeyPair, networkHash, TunnelAuthChecker } from '@xe/crypto';
import { ACCEPT, GossipNode, ignore, peerIdFromPubKeyHex, reject, type ValidationResult } from '@xe/gossip';
import { Ledger, LevelStore } from '@xe/ledger';
import type { VmManager } from '@xe/lima-provider';
import { AttestationGatherer, AttestationSigner, parseAttestRequest, parseAttestResponse, TimekeeperError, TimekeeperErrorCodes } from '@xe/timekeeper';
import { NodeApi } from './api-deps.js';
import type { NodeConfig } from './config.js';
import { DataDir } from './datadir.js';
import { NodeError, NodeErrorCodes } from './errors.js';
import { Metrics } from './metrics.js';
import { ChainWriter } from './services/chain-writer.js';
import { ConsumerService, parseVmInfo } from './services/consumer.js';
import { Housekeeping } from './services/housekeeping.js';
import { MarketplaceBook, parseMarketplace, verifyMarketplaceMsg } from './services/marketplace.js';
import type { NetPort } from './services/ports.js';
import { ProviderService } from './services/provider.js';
import { TunnelServer } from './services/tunnel.js';
import { createNodeVmManager } from './vm-backend.js';

const require = createRequire(import.meta.url);
export const NODE_VERSION: string = (require('../package.json') as { version: string }).version;

const RETRY_QUEUE_MAX = 2000;
const RETRY_TTL_MS = 5 * 60_000;

/**
 * One xe-node: ledger, gossip, timekeeper, VM manager, lease services and the HTTP API,
 * started in dependency order and stopped in reverse.
 */
export class XeNode {
  readonly key: KeyPair;
  readonly bundle: GenesisBundle;
  readonly log: Logger;
  readonly clock: Clock;
  readonly metrics = new Metrics();
  readonly roles: NodeRole[];
  private ledger!: Ledger;
  private gossip!: GossipNode;
  private vms: VmManager | undefined;
  private signer: AttestationSigner | undefined;
  private gatherer!: AttestationGatherer;
  private writer!: ChainWriter;
  private book!: MarketplaceBook;
  private consumer!: ConsumerService;
  private provider: ProviderService | undefined;
  private housekeeping!: Housekeeping;
  private tunnels!: TunnelServer;
  private api: ApiServer | undefined;
  private synced = false;
  private counts = { blocks: 0, accounts: 0, leases: 0, vms: 0 };
  private readonly retry = new Map<string, { block: Block; at: number }>();
  private readonly stopFns: Array<() => Promise<void> | void> = [];
  private readonly countBlock = this.metrics.counter('xe_blocks_ingested_total', 'Blocks offered to the ledger, by origin and result', ['origin', 'result']);

  constructor(
    readonly config: NodeConfig,
    deps: { key: KeyPair; bundle: GenesisBundle; logger?: Logger; clock?: Clock },
  ) {
    this.key = deps.key;
    this.bundle = deps.bundle;
    this.clock = deps.clock ?? systemClock;
    this.log = deps.logger ?? createLogger(config.name, { level: config.logLevel });
    this.roles = ['consumer'];
    if (config.provider) this.roles.push('provider');
    if (config.timekeeper) this.roles.push('timekeeper');
  }

  /** Opens the data directory and builds a node (not started). */
  static fromConfig(config: NodeConfig, options: { logger?: Logger; clock?: Clock } = {}): XeNode {
    const dir = new DataDir(config.dataDir);
    const { key } = dir.loadOrCreateKey();
    const bundle = dir.loadGenesis(config.genesis);
    return new XeNode(config, { key, bundle, ...options });
  }

  get address(): string {
    return this.key.address;
  }

  get apiUrl(): string | undefined {
    return this.api?.url;
  }

  get peerId(): string {
    return peerIdFromPubKeyHex(this.key.pubKeyHex);
  }

  async start(): Promise<void> {
    const { config, bundle, log, clock } = this;
    const dir = new DataDir(config.dataDir);
    const netHash = networkHash(bundle);
    log.info('starting', { name: config.name, address: this.address, peer_id: this.peerId, network: bundle.network_id, roles: this.roles });

    // 1. ledger
    const store = await LevelStore.open(dir.ledgerDir);
    try {
      this.ledger = await Ledger.open(store, bundle, { clock, logger: log.child('ledger') });
    } catch (err) {
      await store.close();
      throw err;
    }
    this.stopFns.push(() => this.ledger.close());

    // 2. gossip
    this.book = new MarketplaceBook(clock);
    this.gossip = new GossipNode(
      {
        key: this.key,
        networkId: bundle.network_id,
        networkHash: netHash,
        version: NODE_VERSION,
        listen: { host: config.p2pHost, port: config.p2pPort },
        ...(config.announce.length ? { announce: config.announce } : {}),
        bootstrap: config.bootstrap,
        roles: this.roles,
      },
      {
        logger: log.child('gossip'),
        clock,
        registry: this.metrics.registry,
        syncSource: {
          frontiers: async () => (await this.ledger.frontiers()).map((f) => ({ account: f.account, frontier: f.frontier, height: Number(f.height) })),
          blocksAfter: (account, height, limit) => this.ledger.blocksAfter(account, BigInt(height), limit),
          certificate: (hash) => this.ledger.getCertificate(hash),
        },
        syncSink: {
          ingestBlock: (block) => this.ingest(block, 'sync'),
          ingestCertificate: async (cert) => {
            const r = await this.ledger.addCertificate(cert);
            if (r.status !== 'rejected') this.retryHeld();
            return r;
          },
        },
      },
    );
    this.gossip.on('sync:done', () => {
      if (!this.synced) log.info('synced with a peer');
      this.synced = true;
    });
    this.gossip.on('peer:hello', ({ peerId }) => {
      log.info('peer connected', { peer: peerId });
      // Advertise when a peer joins; again once the gossip mesh has formed around it.
      for (const ms of [0, 1500, 5000]) setTimeout(() => void this.provider?.advertise(), ms).unref();
    });
    this.gossip.on('peer:wrong-network', (e) => log.warn('peer of another network refused for 10 minutes', { peer: e.peerId, network: e.networkId }));

    // 3. VM manager (provider)
    if (config.provider) this.vms = createNodeVmManager(config, dir.vmDir, { logger: log.child('vm'), clock });

    // 4. timekeeper signer + gatherer
    const leaseParams = bundle.lease;
    if (config.timekeeper) {
      if (!bundle.timekeepers.keys.includes(this.key.pubKeyHex)) {
        log.warn('--timekeeper given but this node key is not a listed timekeeper of the network; not signing', { pub_key: this.key.pubKeyHex });
      } else {
        this.signer = new AttestationSigner(
          { key: this.key, timekeepers: bundle.timekeepers },
          {
            clock,
            leaseState: async (h) => (await this.ledger.getLease(h))?.state,
            ingest: (block) => this.ingest(block, 'live'),
            logger: log.child('timekeeper'),
          },
        );
      }
    }
    this.gatherer = new AttestationGatherer(
      { timekeepers: bundle.timekeepers, self: this.signer, skewNs: leaseParams.max_attestation_skew_ns },
      {
        transport: {
          requestAttestation: async (pub, req, { signal }) => {
            const target = await this.resolveTimekeeper(pub, signal);
            const res = await this.gossip.request(target, PROTOCOLS.attest, req as unknown as JsonValue, { timeoutMs: 10_000, signal });
            return parseAttestResponse(res);
          },
        },
        clock,
        logger: log.child('attest'),
      },
    );

    // 5. services
    const net: NetPort = {
      publishBlock: async (b) => void (await this.gossip.publish(TOPICS.blocks, b)),
      publishMarketplace: async (m) => void (await this.gossip.publish(TOPICS.marketplace, m)),
      publishCertificate: async (c) => void (await this.gossip.publish(TOPICS.certificates, c)),
      requestByAddress: (address, protocol, req, opts) => this.gossip.request(address, protocol, req, opts),
      openStreamByAddress: (address, protocol, opts) => this.gossip.openStream(address, protocol, opts),
    };
    this.writer = new ChainWriter(
      { key: this.key, networkId: bundle.network_id, difficulty: bundle.pow_difficulty },
      {
        accountState: async () => {
          const a = await this.ledger.getAccount(this.address);
          if (!a || a.frontier === '0') return undefined;
          const head = await this.ledger.getBlock(a.frontier);
          return { frontier: a.frontier, frontierTimestamp: head?.timestamp ?? 0n, balances: a.balances };
        },
        commit: async (block) => {
          const r = await this.ingest(block, 'live');
          if (r.status === 'rejected') {
            throw new NodeError(NodeErrorCodes.BLOCK_REJECTED, `own ${block.type} block rejected: ${r.code}: ${r.message}`, { retryable: r.retryable });
          }
        },
        publish: (b) => net.publishBlock(b),
        clock,
        logger: log.child('chain'),
      },
    );
    // One tunnel-auth checker (one replay cache) for the HTTP entry checks and the provider side.
    const tunnelAuth = new TunnelAuthChecker({ skewNs: leaseParams.max_attestation_skew_ns }, { clock });
    this.tunnels = new TunnelServer(
      { self: this.address },
      {
        getLease: (h) => this.ledger.getLease(h),
        dialSsh: (h) => {
          if (!this.vms) throw new NodeError(NodeErrorCodes.NOT_A_PROVIDER, 'this node runs no VMs');
          return this.vms.dialSsh(h);
        },
        auth: tunnelAuth,
        logger: log.child('tunnel'),
      },
    );
    const attest = { gather: (req: { lease_hash: string; block: Block }, o: { signal?: AbortSignal }) => this.gatherer.gather(req, o) };
    this.consumer = new ConsumerService(
      { key: this.key, network: bundle, offerWindowMs: config.offerWindowMs, acceptTimeoutMs: config.acceptTimeoutMs },
      { ledger: this.ledger, writer: this.writer, net, attest, book: this.book, clock, logger: log.child('consumer'), metrics: this.metrics },
    );
    if (config.provider && this.vms) {
      this.provider = new ProviderService(
        {
          key: this.key,
          network: bundle,
          capacity: { vcpus: config.vcpus, memory_mb: config.memoryMb, disk_gb: config.diskGb },
          priceMultiplierMilli: config.priceMultiplierMilli,
        },
        {
          ledger: this.ledger,
          vms: this.vms,
          writer: this.writer,
          net,
          attest,
          tunnels: this.tunnels,
          book: this.book,
          clock,
          logger: log.child('provider'),
          metrics: this.metrics,
        },
      );
    }
    this.housekeeping = new Housekeeping({ address: this.address }, { ledger: this.ledger, writer: this.writer, clock, logger: log.child('housekeeping') });

    this.registerGossip();
    await this.gossip.start();
    this.stopFns.push(() => this.gossip.stop());
    log.info('p2p listening', { multiaddrs: this.gossip.multiaddrs() });

    await this.housekeeping.start();
    this.stopFns.push(() => this.housekeeping.stop());
    await this.consumer.start();
    this.stopFns.push(() => this.consumer.stop());
    if (this.provider) {
      await this.provider.start();
      this.stopFns.push(() => this.provider?.stop());
    }
    this.stopFns.push(() => this.tunnels.closeAll());
    this.registerMetrics();

    // 6. HTTP API
    const deps = new NodeApi({
      address: this.address,
      network: bundle,
      ledger: this.ledger,
      book: this.book,
      consumer: this.consumer,
      provider: this.provider,
      vms: this.vms,
      gatherer: this.gatherer,
      tunnels: this.tunnels,
      net,
      clock,
      nodeInfo: () => this.nodeInfo(),
      readiness: () => this.readiness(),
      submit: async (block) => {
        const r = await this.ingest(block, 'live');
        if (r.status === 'accepted') await net.publishBlock(block).catch(() => undefined);
        return r;
      },
    });
    // One replay cache, one set of HTTP metrics and the same limits for routes and tunnel upgrades.
    const rateLimit = config.rateLimit ? DEFAULT_RATE_LIMITS : false;
    const httpMetrics = new HttpMetrics(this.metrics.registry);
    const app = createApp(deps, {
      operatorToken: config.operatorToken,
      rateLimit,
      ...(config.corsOrigin ? { corsOrigin: config.corsOrigin } : {}),
      logger: log.child('api'),
      clock,
      tunnelAuth,
      metrics: httpMetrics,
    });
    this.api = await startApiServer(app, {
      host: config.apiBind,
      port: config.apiPort,
      deps,
      tunnelAuth,
      metrics: httpMetrics,
      rateLimit,
      clock,
      logger: log.child('api'),
    });
    this.stopFns.push(() => this.api?.close());
    log.info('node ready', { api: this.api.url, p2p: this.gossip.multiaddrs() });
  }

  /** Stops in reverse order of start. */
  async stop(): Promise<void> {
    while (this.stopFns.length > 0) {
      const fn = this.stopFns.pop()!;
      try {
        await fn();
      } catch (err) {
        this.log.warn('error while stopping', { err });
      }
    }
    this.log.info('stopped');
  }

  /** Admits a block; holds retryable rejections to retry when dependencies arrive. */
  private async ingest(block: Block, origin: 'live' | 'sync'): Promise<AdmitResult> {
    const r = await this.ledger.addBlock(block, { origin });
    this.countBlock({ origin, result: r.status === 'rejected' ? r.code : r.status });
    if (r.status === 'accepted') {
      this.retry.delete(block.hash);
      if (this.retry.size > 0) this.retryHeld();
    } else if (r.status === 'rejected' && r.retryable && origin === 'live') {
      if (this.retry.size < RETRY_QUEUE_MAX) this.retry.set(block.hash, { block, at: Date.now() });
      if (r.code === 'UNKNOWN_CERTIFICATE' && (block.type === 'lease' || block.type === 'lease_accept')) void this.fetchCertificateFor(block);
    }
    return r;
  }

  private retrying = false;
  private retryHeld(): void {
    if (this.retrying) return;
    this.retrying = true;
    setImmediate(async () => {
      try {
        let progress = true;
        while (progress && this.retry.size > 0) {
          progress = false;
          for (const [hash, { block, at }] of [...this.retry]) {
            if (Date.now() - at > RETRY_TTL_MS) {
              this.retry.delete(hash);
              continue;
            }
            const r = await this.ledger.addBlock(block, { origin: 'live' });
            if (r.status !== 'rejected' || !r.retryable) this.retry.delete(hash);
            if (r.status === 'accepted') progress = true;
          }
        }
      } catch (err) {
        this.log.warn('retry of held blocks failed', { err });
      } finally {
        this.retrying = false;
      }
    });
  }

  private async fetchCertificateFor(block: Block): Promise<void> {
    const hash = (block as { certificate_hash?: string }).certificate_hash;
    if (!hash) return;
    const provider = block.type === 'lease' ? block.destination : block.account;
    try {
      const v = await this.gossip.request(provider, PROTOCOLS.cert, { hash }, { timeoutMs: 5000 });
      const cert = parseCertificate(v);
      const r = await this.ledger.addCertificate(cert);
      if (r.status !== 'rejected') this.retryHeld();
    } catch (err) {
      this.log.debug('certificate fetch failed', { certificate: hash, err });
    }
  }

  private async resolveTimekeeper(pubKeyHex: string, signal: AbortSignal): Promise<string> {
    const peerId = peerIdFromPubKeyHex(pubKeyHex);
    if (this.gossip.peers().includes(peerId)) return peerId;
    return this.gossip.dialAddress(deriveAddress(pubKeyHex), { signal });
  }

  private registerGossip(): void {
    const { bundle, log } = this;
    this.gossip.subscribe(
      TOPICS.blocks,
      async (msg): Promise<ValidationResult> => {
        let block: Block;
        try {
          block = parseBlock((msg as { block?: unknown }).block ?? msg);
        } catch {
          return reject('bad_shape');
        }
        const r = await this.ingest(block, 'live');
        if (r.status === 'accepted') return ACCEPT;
        if (r.status === 'duplicate') return ignore('duplicate');
        if (r.retryable) return ignore('unknown_dependency');
        return reject(r.code.toLowerCase());
      },
      () => undefined,
    );
    this.gossip.subscribe(
      TOPICS.certificates,
      async (msg): Promise<ValidationResult> => {
        let cert: Certificate;
        try {
          cert = parseCertificate((msg as { certificate?: unknown }).certificate ?? msg);
        } catch {
          return reject('bad_shape');
        }
        const r = await this.ledger.addCertificate(cert);
        if (r.status === 'accepted') {
          this.retryHeld();
          return ACCEPT;
        }
        if (r.status === 'rejected') return reject(r.code.toLowerCase());
        return ignore('duplicate');
      },
      () => undefined,
    );
    this.gossip.subscribe(
      TOPICS.marketplace,
      (msg): ValidationResult => {
        try {
          const m = parseMarketplace(msg);
          if (!verifyMarketplaceMsg(m, bundle.network_id)) return reject('bad_signature');
          return ACCEPT;
        } catch {
          return reject('bad_shape');
        }
      },
      (msg) => {
        const m = parseMarketplace(msg);
        if (m.type === 'advertisement') this.book.putAdvert(m);
        else if (m.type === 'offer') this.book.deliverOffer(m);
        else if (m.type === 'request' && this.provider && m.consumer !== this.address) {
          this.provider.onRequest(m).catch((err) => log.warn('offer failed', { err }));
        }
      },
    );
    this.gossip.handle(PROTOCOLS.attest, async (req, ctx) => {
      if (!this.signer) throw new TimekeeperError(TimekeeperErrorCodes.NOT_A_TIMEKEEPER, 'this node is not a timekeeper');
      const a = await this.signer.sign(parseAttestRequest(req), { requester: ctx.peerId, signal: ctx.signal });
      return a as unknown as JsonValue;
    });
    this.gossip.handle(PROTOCOLS.cert, async (req) => {
      const hash = (req as { hash?: unknown }).hash;
      if (!isHash(hash)) throw new NodeError(NodeErrorCodes.CLIENT, 'hash: expected 64 lowercase hex chars');
      const cert = await this.ledger.getCertificate(hash);
      if (!cert) throw new NodeError(NodeErrorCodes.LEASE_NOT_FOUND, 'certificate not found');
      return cert as unknown as JsonValue;
    });
    this.gossip.handle(PROTOCOLS.vminfo, async (req, ctx) => {
      const o = req as { lease_hash?: unknown; vm?: unknown };
      if (!isHash(o.lease_hash)) throw new NodeError(NodeErrorCodes.CLIENT, 'lease_hash: expected 64 lowercase hex chars');
      const lease = await this.ledger.getLease(o.lease_hash);
      if (!lease) throw new NodeError(NodeErrorCodes.LEASE_NOT_FOUND, 'lease not found');
      if (o.vm !== undefined) {
        // a push from the provider's node to the consumer's
        const provider = await this.ledger.getAccount(lease.provider);
        if (lease.consumer !== this.address || !provider?.pub_key || peerIdFromPubKeyHex(provider.pub_key) !== ctx.peerId) {
          throw new NodeError(NodeErrorCodes.CLIENT, 'VM info accepted only from the lease provider, for a lease of this node');
        }
        this.consumer.putVmInfo(lease.hash, parseVmInfo(o.vm));
        return { ok: true };
      }
      const info = this.provider ? await this.provider.vmInfoFor(lease.hash) : undefined;
      if (!info) throw new NodeError(NodeErrorCodes.VM_NOT_FOUND, 'no VM for this lease here');
      return info as unknown as JsonValue;
    });
    this.gossip.handleStream(PROTOCOLS.tunnel, (duplex) => {
      void this.tunnels.serve(duplex).catch((err) => log.warn('tunnel failed', { err }));
    });
  }

  /** GET /node counts, refreshed in the background (the route itself stays cheap). */
  private async refreshCounts(): Promise<void> {
    const frontiers = await this.ledger.frontiers();
    let blocks = 0;
    for (const f of frontiers) blocks += Number(f.height);
    this.counts = {
      blocks,
      accounts: frontiers.length,
      leases: await this.ledger.countLeases({}),
      vms: this.vms ? (await this.vms.list()).length : 0,
    };
  }

  private registerMetrics(): void {
    const refresh = () => void this.refreshCounts().catch(() => undefined);
    refresh();
    const t = setInterval(refresh, 5000);
    t.unref();
    this.stopFns.push(() => clearInterval(t));
    this.metrics.gauge('xe_ledger_blocks', 'Blocks in the ledger', () => this.counts.blocks);
    this.metrics.gauge('xe_ledger_accounts', 'Accounts in the ledger', () => this.counts.accounts);
    this.metrics.gauge('xe_vms_running', 'VMs this provider runs', () => this.counts.vms);
    this.metrics.gauge('xe_peers', 'Connected peers that completed hello', () => this.gossip.helloPeerIds().length);
    this.metrics.gauge('xe_blocks_held_for_retry', 'Blocks waiting for a dependency', () => this.retry.size);
    this.metrics.gauge('xe_node_info', 'Constant 1 with the node identity as labels', () => [[{ address: this.address, network: this.bundle.network_id, version: NODE_VERSION }, 1]], [
      'address',
      'network',
      'version',
    ]);
  }

  nodeInfo(): NodeInfo {
    const cert = this.provider?.currentCertificate();
    const now = this.clock();
    return {
      name: this.config.name,
      version: NODE_VERSION,
      network_id: this.bundle.network_id,
      address: this.address,
      peer_id: this.peerId,
      roles: this.roles,
      peers: this.gossip.helloPeerIds().length,
      multiaddrs: this.gossip.multiaddrs(),
      counts: this.counts,
      certificate: cert ? { hash: cert.hash, expires_at: cert.expires_at, valid: cert.expires_at > now } : null,
    };
  }

  async readiness(): Promise<Readiness> {
    const peered = this.gossip.helloPeerIds().length > 0;
    const synced = this.synced || (peered && this.config.bootstrap.length === 0);
    const tk = this.bundle.timekeepers;
    const known = new Set(this.gossip.nodes('timekeeper').map((r) => r.pub_key));
    if (this.signer) known.add(this.key.pubKeyHex);
    const reachable = tk.keys.filter((k) => known.has(k)).length >= tk.threshold;
    return { synced, peered, timekeepers_reachable: reachable, ready: synced && peered && reachable };
  }

  /** For tests and tools: the ledger (read-only use). */
  get ledgerForTests(): Ledger {
    return this.ledger;
  }
}
