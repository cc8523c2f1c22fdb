import type { Duplex } from 'node:stream';
import type { Attestation, Block, Certificate, JsonValue } from '@xe/core-types';

/** What the lease services need of the network; node.ts implements it over @xe/gossip. */
export interface NetPort {
  publishBlock(block: Block): Promise<void>;
  publishMarketplace(msg: Record<string, unknown>): Promise<void>;
  publishCertificate(cert: Certificate): Promise<void>;
  /** A request/response call to the node whose ledger address is `address`. */
  requestByAddress(address: string, protocol: string, req: JsonValue, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<JsonValue>;
  /** A raw stream to the node whose ledger address is `address`. */
  openStreamByAddress(address: string, protocol: string, opts: { signal?: AbortSignal }): Promise<Duplex>;
}

/** What the lease services need of the timekeepers. */
export interface AttestPort {
  gather(req: { lease_hash: string; block: Block }, opts: { signal?: AbortSignal }): Promise<Attestation[]>;
}
