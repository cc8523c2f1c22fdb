import type { Duplex } from 'node:stream';
import { XeApiError, XeClient } from '@xe/client';
import { keyPairFromSeed, signTunnelAuth } from '@xe/crypto';
import { NodeError, NodeErrorCodes } from '../errors.js';

/**
 * The CLI's client of a node: `@xe/client`, typed by the API contract. A connection that
 * fails is reported as `NETWORK_ERROR` naming the node and how to point at another.
 */
export function nodeClient(baseUrl: string, operatorToken?: string): XeClient {
  const reach: typeof fetch = async (input, init) => {
    try {
      return await fetch(input, init);
    } catch (err) {
      if (init?.signal?.aborted) throw err;
      throw new Error(`cannot reach the node at ${baseUrl}: ${(err as Error).message} (is it running? pass --node URL)`, { cause: err });
    }
  };
  return new XeClient({ baseUrl, fetch: reach, ...(operatorToken === undefined ? {} : { operatorToken }) });
}

/**
 * Opens the TCP tunnel of a lease (SPEC §11): `POST /tunnel/{hash}/tcp` with
 * `Upgrade: tcp`, signed with the lease's access key. Resolves with the raw byte stream.
 */
export async function openTunnel(baseUrl: string, leaseHash: string, accessSeed: Uint8Array, nowNs: bigint): Promise<Duplex> {
  const signature = signTunnelAuth(keyPairFromSeed(accessSeed), leaseHash, nowNs);
  try {
    return await nodeClient(baseUrl).openTunnel(leaseHash, { timestamp: nowNs, signature });
  } catch (err) {
    if (err instanceof XeApiError && err.status > 0) {
      throw new NodeError(NodeErrorCodes.TUNNEL_REFUSED, `tunnel refused: HTTP ${err.status} ${err.code} ${err.message}`, { cause: err });
    }
    throw err;
  }
}
