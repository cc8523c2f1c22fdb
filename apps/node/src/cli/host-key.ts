import { type Block, ErrorCodes, parseBlock, waitUntil, XeError } from '@xe/core-types';
import { XeApiError, type XeClient } from '@xe/client';
import { deriveAddress, hashBlock, verifyVmHostKey } from '@xe/crypto';
import { NodeError, NodeErrorCodes } from '../errors.js';

/** How long `xe-node ssh` waits for the node to learn a fresh lease's VM info (pushed right after the accept). */
export const VM_INFO_WAIT_MS = 20_000;

/** A VM host key `xe-node ssh` may pin: checked against the lease's provider, never taken on a node's word. */
export interface PinnedHostKey {
  /** `<type> <base64>`, what the provider signed. */
  line: string;
  /** The lease's provider (from the lease block whose hash is the lease hash). */
  provider: string;
  /** The provider's key, whose address is `provider`. */
  providerPubKey: string;
}

/**
 * The lease's provider and its public key, checked so that no node is trusted for them:
 * the lease block the node returns must hash (under the network id it names) to the lease
 * hash the user gave — so its `destination` is the lease's provider — and the key the
 * node returns (the lease certificate's `provider_pub_key`) must derive that address.
 */
export async function leaseProviderKey(client: XeClient, leaseHash: string): Promise<{ provider: string; pubKey: string }> {
  const { network_id: networkId } = await client.node();
  const { confirmed: _confirmed, ...stored } = (await client.getBlock(leaseHash)) as unknown as Record<string, unknown>;
  let block: Block;
  try {
    block = parseBlock(stored);
  } catch (err) {
    throw new NodeError(NodeErrorCodes.VM_HOST_KEY_INVALID, `the node's block ${leaseHash} does not parse: ${(err as Error).message}`, { cause: err });
  }
  if (block.type !== 'lease') throw new NodeError(NodeErrorCodes.LEASE_NOT_FOUND, `${leaseHash} is a ${block.type} block, not a lease`);
  if (hashBlock(block, networkId) !== leaseHash) {
    throw new NodeError(NodeErrorCodes.VM_HOST_KEY_INVALID, `the lease block the node returned does not hash to ${leaseHash}: its provider cannot be trusted`);
  }
  const provider = block.destination;
  const cert = await client.getCertificateByHash(block.certificate_hash);
  if (cert.provider !== provider || deriveAddress(cert.provider_pub_key) !== provider) {
    throw new NodeError(NodeErrorCodes.VM_HOST_KEY_INVALID, `the key the node returned for the lease's provider ${provider} is not that provider's`);
  }
  return { provider, pubKey: cert.provider_pub_key };
}

/** Checks a VM object's host key against the provider's signature; throws VM_HOST_KEY_MISSING / VM_HOST_KEY_INVALID. */
export function checkVmHostKey(leaseHash: string, vm: { host_public_key?: string | undefined; host_key_signature?: string | undefined }, providerPubKey: string): string {
  if (vm.host_public_key === undefined || vm.host_key_signature === undefined) {
    throw new NodeError(
      NodeErrorCodes.VM_HOST_KEY_MISSING,
      "the node's VM object has no host key signed by the provider, so it cannot be pinned; refusing to connect (the provider's node may be older, or its VM backend reports no host key)",
    );
  }
  if (!verifyVmHostKey(leaseHash, vm.host_public_key, vm.host_key_signature, providerPubKey)) {
    throw new NodeError(NodeErrorCodes.VM_HOST_KEY_INVALID, "the VM's host key is not signed by the lease's provider; refusing to connect (the node may be impersonating the VM)");
  }
  return vm.host_public_key;
}

/**
 * The VM's host key for `xe-node ssh`: the VM object from the node (waiting up to
 * `waitMs` for it to arrive after the accept), its `host_public_key` accepted only when
 * `host_key_signature` verifies under the key of the lease's provider (`leaseProviderKey`).
 */
export async function pinnedHostKey(client: XeClient, leaseHash: string, opts: { waitMs?: number } = {}): Promise<PinnedHostKey> {
  const { provider, pubKey } = await leaseProviderKey(client, leaseHash);
  const vm = await waitUntil(
    async () => {
      try {
        return await client.getVm(leaseHash);
      } catch (err) {
        if (err instanceof XeApiError && err.status === 404) return undefined;
        throw err;
      }
    },
    { timeoutMs: opts.waitMs ?? VM_INFO_WAIT_MS, intervalMs: 500, what: `the VM info of lease ${leaseHash} on the node`, stopOn: () => true },
  ).catch((err) => {
    if (!(err instanceof XeError && err.code === ErrorCodes.TIMEOUT)) throw err;
    throw new NodeError(NodeErrorCodes.VM_NOT_FOUND, `the node has no VM for lease ${leaseHash} (is the lease accepted, and is --node its consumer's or provider's node?)`, {
      cause: err,
    });
  });
  return { line: checkVmHostKey(leaseHash, vm, pubKey), provider, providerPubKey: pubKey };
}
