import {
  type Block,
  type Certificate,
  isHash,
  type JsonValue,
  type Logger,
  PROTOCOLS,
  parseBlockSealed,
  parseCertificate,
  TOPICS,
  type VmInfo,
} from '@xe/core-types';
import { ACCEPT, type GossipNode, ignore, peerIdFromPubKeyHex, reject, type SyncSink, type SyncSource, type ValidationResult } from '@xe/gossip';
import type { Ledger } from '@xe/ledger';
import { type AttestationSigner, parseAttestRequest, TimekeeperError, TimekeeperErrorCodes } from '@xe/timekeeper';
import type { BlockIntake } from './block-intake.js';
import { NodeError, NodeErrorCodes } from './errors.js';
import { addressOfPeerId } from './peer-address.js';
import { type LeaseRequestMsg, type MarketplaceAdmission, type MarketplaceBook, parseMarketplace, verifyMarketplaceMsg } from './services/marketplace.js';
import type { NetPort } from './services/ports.js';
import type { TunnelServer } from './services/tunnel.js';

/** What sync reads from the ledger (gossip's `SyncSource`). */
export function ledgerSyncSource(ledger: Pick<Ledger, 'frontiers' | 'blocksAfterJson' | 'getCertificate'>): SyncSource {
  return {
    frontiers: async () => (await ledger.frontiers()).map((f) => ({ account: f.account, frontier: f.frontier, height: Number(f.height) })),
    // the stored JSON goes into the page as it is
    blocksAfter: (account, height, limit) => ledger.blocksAfterJson(account, BigInt(height), limit),
    certificate: (hash) => ledger.getCertificate(hash),
  };
}

/** Where sync hands what it receives: the node's block intake (gossip's `SyncSink`). */
export function intakeSyncSink(intake: BlockIntake): SyncSink {
  return {
    ingestBlock: (block) => intake.ingest(block, 'sync'),
    ingestCertificate: (cert) => intake.addCertificate(cert),
  };
}

/** The gossip side of the services: publishing and addressing other nodes by account. */
export function gossipNetPort(gossip: GossipNode): NetPort {
  return {
    publishBlock: async (b) => void (await gossip.publish(TOPICS.blocks, b)),
    publishMarketplace: async (m) => void (await gossip.publish(TOPICS.marketplace, m)),
    publishCertificate: async (c) => void (await gossip.publish(TOPICS.certificates, c)),
    requestByAddress: (address, protocol, req, opts) => gossip.request(address, protocol, req, opts),
    openStreamByAddress: (address, protocol, opts) => gossip.openStream(address, protocol, opts),
  };
}

export interface GossipWiring {
  gossip: GossipNode;
  intake: BlockIntake;
  ledger: Pick<Ledger, 'getCertificate' | 'getLease' | 'getAccount'>;
  book: MarketplaceBook;
  /** Decides which marketplace messages count (and are relayed). */
  admission: MarketplaceAdmission;
  /** This node's account address. */
  address: string;
  networkId: string;
  consumer: { putVmInfo(leaseHash: string, vm: VmInfo): Promise<void> };
  provider: { onRequest(req: LeaseRequestMsg): Promise<void>; vmInfoFor(leaseHash: string): Promise<VmInfo | undefined> } | undefined;
  signer: AttestationSigner | undefined;
  tunnels: TunnelServer;
  parseVmInfo(value: unknown): VmInfo;
  logger: Logger;
}

/**
 * Registers the node's topics (blocks, certificates, marketplace) with their validators,
 * and its request/response and stream protocols (attest, cert, vminfo, tunnel).
 */
export function wireGossip(w: GossipWiring): void {
  const { gossip, intake, ledger, book, logger: log } = w;
  gossip.subscribe(
    TOPICS.blocks,
    async (msg, ctx): Promise<ValidationResult> => {
      let block: Block;
      try {
        block = parseBlockSealed((msg as { block?: unknown }).block ?? msg);
      } catch {
        return reject('bad_shape');
      }
      const r = await intake.ingest(block, 'live', ctx.from);
      if (r.status === 'accepted') return ACCEPT;
      if (r.status === 'duplicate') return ignore('duplicate');
      if (r.retryable) return ignore('unknown_dependency');
      // a rival candidate (SPEC §12): relayed, so every representative sees it and can vote
      if (r.code === 'FORK_HELD') return ACCEPT;
      if (r.code === 'FORK_CONFIRMED' || r.code === 'TOO_MANY_CANDIDATES') return ignore(r.code.toLowerCase());
      return reject(r.code.toLowerCase());
    },
    () => undefined,
  );
  gossip.subscribe(
    TOPICS.certificates,
    async (msg): Promise<ValidationResult> => {
      let cert: Certificate;
      try {
        cert = parseCertificate((msg as { certificate?: unknown }).certificate ?? msg);
      } catch {
        return reject('bad_shape');
      }
      const r = await intake.addCertificate(cert);
      if (r.status === 'accepted') return ACCEPT;
      if (r.status === 'rejected') return reject(r.code.toLowerCase());
      return ignore('duplicate');
    },
    () => undefined,
  );
  gossip.subscribe(
    TOPICS.marketplace,
    async (msg): Promise<ValidationResult> => {
      let m: ReturnType<typeof parseMarketplace>;
      try {
        m = parseMarketplace(msg);
      } catch {
        return reject('bad_shape');
      }
      if (!verifyMarketplaceMsg(m, w.networkId)) return reject('bad_signature');
      const verdict = await w.admission.admit(m);
      return verdict.ok ? ACCEPT : ignore(verdict.reason);
    },
    (msg) => {
      const m = parseMarketplace(msg);
      if (m.type === 'advertisement') book.putAdvert(m);
      else if (m.type === 'offer') book.deliverOffer(m);
      else if (m.type === 'request' && w.provider && m.consumer !== w.address) {
        w.provider.onRequest(m).catch((err) => log.warn('offer failed', { err }));
      }
    },
  );
  gossip.handle(PROTOCOLS.attest, async (req, ctx) => {
    if (!w.signer) throw new TimekeeperError(TimekeeperErrorCodes.NOT_A_TIMEKEEPER, 'this node is not a timekeeper');
    // the peer's authenticated address decides whether it may use a lease party's rate slot (SPEC §8)
    const requesterAddress = addressOfPeerId(ctx.peerId);
    const a = await w.signer.sign(parseAttestRequest(req), { requester: ctx.peerId, ...(requesterAddress ? { requesterAddress } : {}), signal: ctx.signal });
    return a as unknown as JsonValue;
  });
  gossip.handle(PROTOCOLS.cert, async (req) => {
    const hash = (req as { hash?: unknown }).hash;
    if (!isHash(hash)) throw new NodeError(NodeErrorCodes.CLIENT, 'hash: expected 64 lowercase hex chars');
    const cert = await ledger.getCertificate(hash);
    if (!cert) throw new NodeError(NodeErrorCodes.LEASE_NOT_FOUND, 'certificate not found');
    return cert as unknown as JsonValue;
  });
  gossip.handle(PROTOCOLS.vminfo, async (req, ctx) => {
    const o = req as { lease_hash?: unknown; vm?: unknown };
    if (!isHash(o.lease_hash)) throw new NodeError(NodeErrorCodes.CLIENT, 'lease_hash: expected 64 lowercase hex chars');
    const lease = await ledger.getLease(o.lease_hash);
    if (!lease) throw new NodeError(NodeErrorCodes.LEASE_NOT_FOUND, 'lease not found');
    if (o.vm !== undefined) {
      // a push from the provider's node to the consumer's
      const provider = await ledger.getAccount(lease.provider);
      if (lease.consumer !== w.address || !provider?.pub_key || peerIdFromPubKeyHex(provider.pub_key) !== ctx.peerId) {
        throw new NodeError(NodeErrorCodes.CLIENT, 'VM info accepted only from the lease provider, for a lease of this node');
      }
      await w.consumer.putVmInfo(lease.hash, w.parseVmInfo(o.vm));
      return { ok: true };
    }
    const info = w.provider ? await w.provider.vmInfoFor(lease.hash) : undefined;
    if (!info) throw new NodeError(NodeErrorCodes.VM_NOT_FOUND, 'no VM for this lease here');
    return info as unknown as JsonValue;
  });
  gossip.handleStream(PROTOCOLS.tunnel, (duplex) => {
    void w.tunnels.serve(duplex).catch((err) => log.warn('tunnel failed', { err }));
  });
}
