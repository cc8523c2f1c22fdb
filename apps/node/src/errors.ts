import { XeError, type XeErrorOptions } from '@xe/core-types';

export const NodeErrorCodes = {
  CONFIG_INVALID: 'CONFIG_INVALID',
  DATA_DIR: 'DATA_DIR',
  NO_PROVIDERS: 'NO_PROVIDERS',
  INSUFFICIENT_BALANCE: 'INSUFFICIENT_BALANCE',
  ACCEPT_TIMEOUT: 'ACCEPT_TIMEOUT',
  LEASE_NOT_FOUND: 'LEASE_NOT_FOUND',
  VM_NOT_FOUND: 'VM_NOT_FOUND',
  NOT_LEASE_CONSUMER: 'NOT_LEASE_CONSUMER',
  LEASE_NOT_CANCELLABLE: 'LEASE_NOT_CANCELLABLE',
  PROVIDER_UNREACHABLE: 'PROVIDER_UNREACHABLE',
  TUNNEL_REFUSED: 'TUNNEL_REFUSED',
  BLOCK_REJECTED: 'BLOCK_REJECTED',
  NOT_A_PROVIDER: 'NOT_A_PROVIDER',
  CLIENT: 'CLIENT',
  /** VM info whose host key signature does not verify under the lease provider's key. */
  VM_HOST_KEY_INVALID: 'VM_HOST_KEY_INVALID',
  /** The VM object carries no signed host key, so `xe-node ssh` cannot pin one. */
  VM_HOST_KEY_MISSING: 'VM_HOST_KEY_MISSING',
} as const;

export type NodeErrorCode = (typeof NodeErrorCodes)[keyof typeof NodeErrorCodes];

export class NodeError extends XeError<NodeErrorCode> {
  constructor(code: NodeErrorCode, message: string, options: XeErrorOptions = {}) {
    super(code, message, options);
  }
}
