import { type ApiServer, createApp, DEFAULT_RATE_LIMITS, HttpMetrics, type NodeInfo, type Readiness, startApiServer } from '@xe/api-server';
import { type Block, type Certificate, type Clock, createLogger, type GenesisBundle, type JsonValue, type Logger, type NodeRole, PROTOCOLS, parseCertificate, systemClock, XeError } from '@xe/core-types';
import { deriveAddress, type KeyPair, networkHash, TunnelAuthChecker, VerifierPool } from '@xe/crypto';
import { GossipError, GossipNode, peerIdFromPubKeyHex } from '@xe/gossip';
import { Ledger, LevelStore } from '@xe/ledger';
import type { VmManager } from '@xe/lima-provider';
import { AttestationGatherer, AttestationSigner, parseAttestResponse } from '@xe/timekeeper';
import { NodeApi } from './api-deps.js';
import { BlockIntake } from './block-intake.js';
import type { NodeConfig } from './config.js';
import { DataDir } from './datadir.js';
import { NodeError, NodeErrorCodes } from './errors.js';
import { EventHub, feedEventHub } from './events.js';
import { ledgerFinalityOptions, NodeFinality, withConfirmationIntake, withConfirmations } from './finality.js';
import { PeerDenyList } from './peer-deny-list.js';
import { gossipNetPort, intakeSyncSink, ledgerSyncSource, wireGossip } from './gossip-wiring.js';
import { Metrics } from './metrics.js';
import { ChainWriter } from './services/chain-writer.js';
import { ConsumerService, parseVmInfo } from './services/consumer.js';
import { Housekeeping } from './services/housekeeping.js';
import { MarketplaceAdmission, MarketplaceBook } from './services/marketplace.js';
import { ProviderService } from './services/provider.js';
import { TunnelServer } from './services/tunnel.js';
import { NodeStatus } from './status.js';
import { mountUi } from './ui.js';
import { createNodeVmManager } from './vm-backend.js';
import { NODE_VERSION } from './version.js';

export { NODE_VERSION } from './version.js';

/** After a peer's hello, adverts go out at once and again once the gossip mesh has formed around it. */
const ADVERTISE_AFTER_HELLO_MS = [0, 1500, 5000];

/**
 * One xe-node: the composition root. It builds the parts — ledger, block intake, gossip,
 * VM manager, timekeeper, lease services, status and the HTTP API — wires them to each
 * other, starts them in dependency order and stops them in reverse. The work is in the
 * parts: `block-intake.ts`, `gossip-wiring.ts`, `status.ts`, `services/`.
 */
export class XeNode {
  readonly key: KeyPair;
  readonly bundle: GenesisBundle;
  readonly log: Logger;
  readonly clock: Clock;
  readonly metrics = new Metrics();
  readonly roles: NodeRole[];
  private ledger!: Ledger;
  private status!: NodeStatus;
  private api: ApiServer | undefined;
  private hub: EventHub | undefined;
  private readonly stopFns: Array<() => Promise<void> | void> = [];

  constructor(
    readonly config: NodeConfig,
    deps: { key: KeyPair; bundle: GenesisBundle; logger?: Logger; clock?: Clock },
  ) {
    this.key = deps.key;
    this.bundle = deps.bundle;
    this.clock = deps.clock ?? systemClock;
    this.log = deps.logger ?? createLogger(config.name, { level: config.logLevel, clock: this.clock });
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
    const { config, bundle, log, clock, key, metrics } = this;
    const dir = new DataDir(config.dataDir);
    log.info('starting', { name: config.name, address: this.address, peer_id: this.peerId, network: bundle.network_id, roles: this.roles });

    // 1. ledger and the block intake in front of it
    const store = await LevelStore.open(dir.ledgerDir);
    // hash, work and signature of offered blocks on worker threads (cores − 1), ahead of the ledger's rules
    const verifier = new VerifierPool();
    // booted now, so a sync at start does not wait for the threads
    verifier.start();
    this.stopFns.push(() => verifier.close());
    let ledger: Ledger;
    try {
      ledger = await Ledger.open(store, bundle, { clock, logger: log.child('ledger'), finality: ledgerFinalityOptions(bundle, key), verifier });
    } catch (err) {
      await store.close();
      throw err;
    }
    this.ledger = ledger;
    this.stopFns.push(() => ledger.close());
    const intake: BlockIntake = new BlockIntake({
      ledger,
      clock,
      logger: log.child('intake'),
      metrics,
      fetchCertificate: async (provider, hash): Promise<Certificate> => parseCertificate(await gossip.request(provider, PROTOCOLS.cert, { hash }, { timeoutMs: 5000 })),
      publish: (block) => net.publishBlock(block),
    });

    // 2. gossip (a test may cut links with a peer deny list, XE_PEER_DENY_FILE)
    const denyList = PeerDenyList.fromEnv(process.env, this.peerId, (p) => gossip.hangUp(p), log.child('deny'));
    const gossip: GossipNode = new GossipNode(
      {
        key,
        networkId: bundle.network_id,
        networkHash: networkHash(bundle),
        version: NODE_VERSION,
        listen: { host: config.p2pHost, port: config.p2pPort },
        ...(config.announce.length ? { announce: config.announce } : {}),
        bootstrap: config.bootstrap,
        roles: this.roles,
        ...(denyList ? { denyPeer: denyList.denies } : {}),
      },
      {
        logger: log.child('gossip'),
        clock,
        registry: metrics.registry,
        syncSource: withConfirmations(ledgerSyncSource(ledger), ledger),
        syncSink: withConfirmationIntake(intakeSyncSink(intake), ledger),
      },
    );
    const net = gossipNetPort(gossip);

    // 3. VM manager (provider)
    const vms: VmManager | undefined = config.provider ? createNodeVmManager(config, dir.vmDir, { logger: log.child('vm'), clock }) : undefined;

    // 4. timekeeper signer + gatherer
    const leaseParams = bundle.lease;
    let signer: AttestationSigner | undefined;
    if (config.timekeeper) {
      if (!bundle.timekeepers.keys.includes(key.pubKeyHex)) {
        log.warn('--timekeeper given but this node key is not a listed timekeeper of the network; not signing', { pub_key: key.pubKeyHex });
      } else {
        signer = new AttestationSigner(
          { key, timekeepers: bundle.timekeepers, lease: leaseParams },
          {
            clock,
            leaseState: async (h) => {
              const l = await ledger.getLease(h);
              return l && { state: l.state, provider: l.provider, consumer: l.consumer, timestamp: l.timestamp };
            },
            ingest: (block) => intake.ingest(block, 'live'),
            logger: log.child('timekeeper'),
          },
        );
      }
    }
    const gatherer = new AttestationGatherer(
      { timekeepers: bundle.timekeepers, self: signer, skewNs: leaseParams.max_attestation_skew_ns },
      {
        transport: {
          requestAttestation: async (pub, req, { signal }) => {
            const peerId = peerIdFromPubKeyHex(pub);
            const target = gossip.peers().includes(peerId) ? peerId : await gossip.dialAddress(deriveAddress(pub), { signal });
            try {
              return parseAttestResponse(await gossip.request(target, PROTOCOLS.attest, req as unknown as JsonValue, { timeoutMs: 10_000, signal }));
            } catch (err) {
              // the timekeeper's own code (UNKNOWN_LEASE makes the gatherer send the lease block)
              if (err instanceof GossipError && err.remoteCode !== undefined) {
                throw new XeError(err.remoteCode, err.remoteMessage ?? err.message, { cause: err, retryable: err.remoteCode === 'UNKNOWN_LEASE' });
              }
              throw err;
            }
          },
        },
        clock,
        logger: log.child('attest'),
      },
    );

    // One tunnel-auth checker (one replay cache) for the HTTP entry checks and the provider side.
    const tunnelAuth = new TunnelAuthChecker({ skewNs: leaseParams.max_attestation_skew_ns }, { clock });
    const tunnels = new TunnelServer(
      { self: this.address },
      {
        getLease: (h) => ledger.getLease(h),
        dialSsh: (h) => {
          if (!vms) throw new NodeError(NodeErrorCodes.NOT_A_PROVIDER, 'this node runs no VMs');
          return vms.dialSsh(h);
        },
        auth: tunnelAuth,
        logger: log.child('tunnel'),
      },
    );

    // 5. services
    const book = new MarketplaceBook(clock);
    const writer = new ChainWriter(
      { key, networkId: bundle.network_id, difficulty: bundle.pow_difficulty },
      {
        accountState: async () => {
          const a = await ledger.getAccount(this.address);
          if (!a || a.frontier === '0') return undefined;
          const head = await ledger.getBlock(a.frontier);
          return { frontier: a.frontier, frontierTimestamp: head?.timestamp ?? 0n, balances: a.balances };
        },
        commit: async (block) => {
          const r = await intake.ingest(block, 'live');
          if (r.status === 'rejected') {
            throw new NodeError(NodeErrorCodes.BLOCK_REJECTED, `own ${block.type} block rejected: ${r.code}: ${r.message}`, { retryable: r.retryable });
          }
        },
        publish: (b) => net.publishBlock(b),
        clock,
        logger: log.child('chain'),
      },
    );
    const attest = { gather: (req: { lease_hash: string; block: Block }, o: { signal?: AbortSignal }) => gatherer.gather(req, o) };
    const consumer = new ConsumerService(
      { key, network: bundle, offerWindowMs: config.offerWindowMs, acceptTimeoutMs: config.acceptTimeoutMs },
      { ledger, writer, net, attest, book, clock, logger: log.child('consumer'), metrics },
    );
    const provider =
      config.provider && vms
        ? new ProviderService(
            {
              key,
              network: bundle,
              capacity: { vcpus: config.vcpus, memory_mb: config.memoryMb, disk_gb: config.diskGb },
              priceMultiplierMilli: config.priceMultiplierMilli,
            },
            { ledger, vms, writer, net, attest, tunnels, book, clock, logger: log.child('provider'), metrics },
          )
        : undefined;
    const housekeeping = new Housekeeping({ address: this.address }, { ledger, writer, clock, logger: log.child('housekeeping') });

    // 6. gossip wiring and status
    wireGossip({
      gossip,
      intake,
      ledger,
      book,
      admission: new MarketplaceAdmission({ stakeDivisor: bundle.lease.stake_divisor }, { ledger, clock }),
      address: this.address,
      networkId: bundle.network_id,
      consumer,
      provider,
      signer,
      tunnels,
      parseVmInfo,
      logger: log.child('gossip'),
    });
    // finality (SPEC §12): votes, confirmations, the ledger's timers
    const finality = new NodeFinality({
      ledger,
      gossip,
      ingestBlock: (b) => intake.ingest(b, 'sync'),
      bundle,
      address: this.address,
      clock,
      logger: log.child('finality'),
      metrics,
    });
    finality.wire();
    gossip.once('sync:done', () => log.info('synced with a peer'));
    gossip.on('peer:hello', ({ peerId }) => {
      log.info('peer connected', { peer: peerId });
      for (const ms of ADVERTISE_AFTER_HELLO_MS) setTimeout(() => void provider?.advertise(), ms).unref();
    });
    gossip.on('peer:wrong-network', (e) => log.warn('peer of another network refused for 10 minutes', { peer: e.peerId, network: e.networkId }));
    this.status = new NodeStatus(
      {
        name: config.name,
        version: NODE_VERSION,
        address: this.address,
        peerId: this.peerId,
        pubKeyHex: key.pubKeyHex,
        roles: this.roles,
        bundle,
        bootstrap: config.bootstrap,
      },
      {
        ledger,
        gossip,
        ...(vms ? { vmCount: async () => (await vms.list()).length } : {}),
        ...(provider ? { certificate: () => provider.currentCertificate() } : {}),
        signs: signer !== undefined,
        heldBlocks: () => intake.heldCount,
        finality: (counts) => finality.info(counts),
        metrics,
        clock,
      },
    );

    // start, in dependency order
    await gossip.start();
    this.stopFns.push(() => gossip.stop());
    log.info('p2p listening', { multiaddrs: gossip.multiaddrs() });
    finality.start();
    this.stopFns.push(() => finality.stop());
    if (denyList) {
      denyList.start();
      this.stopFns.push(() => denyList.stop());
    }
    await housekeeping.start();
    this.stopFns.push(() => housekeeping.stop());
    await consumer.start();
    this.stopFns.push(() => consumer.stop());
    if (provider) {
      await provider.start();
      this.stopFns.push(() => provider.stop());
    }
    this.stopFns.push(() => tunnels.closeAll());
    this.status.start();
    this.stopFns.push(() => this.status.stop());

    // 7. HTTP API: one replay cache, one registry and the same limits for routes and tunnel upgrades
    const events = new EventHub({}, { clock, logger: log, metrics });
    const stopFeed = feedEventHub(events, { ledger, vms, logger: log });
    this.hub = events;
    const deps = new NodeApi({
      events,
      clock,
      address: this.address,
      network: bundle,
      ledger,
      book,
      consumer,
      provider,
      vms,
      gatherer,
      tunnels,
      net,
      nodeInfo: () => this.status.nodeInfo(),
      readiness: () => this.status.readiness(),
      submit: async (block) => {
        const r = await intake.ingest(block, 'live');
        if (r.status === 'accepted') await net.publishBlock(block).catch(() => undefined);
        return r;
      },
    });
    const rateLimit = config.rateLimit ? DEFAULT_RATE_LIMITS : false;
    const httpMetrics = new HttpMetrics(metrics.registry);
    const app = createApp(deps, {
      operatorToken: config.operatorToken,
      rateLimit,
      ...(config.corsOrigin ? { corsOrigin: config.corsOrigin } : {}),
      logger: log.child('api'),
      clock,
      tunnelAuth,
      metrics: httpMetrics,
    });
    if (config.ui) mountUi(app, { logger: log });
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
    this.stopFns.push(() => {
      stopFeed();
      events.close();
    });
    log.info('node ready', { api: this.api.url, p2p: gossip.multiaddrs() });
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

  nodeInfo(): NodeInfo {
    return this.status.nodeInfo();
  }

  readiness(): Promise<Readiness> {
    return this.status.readiness();
  }

  /** The feed behind `GET /events` (after `start`); for tests and tools. */
  get eventHub(): EventHub | undefined {
    return this.hub;
  }

  /** For tests and tools: the ledger (read-only use). */
  get ledgerForTests(): Ledger {
    return this.ledger;
  }
}
