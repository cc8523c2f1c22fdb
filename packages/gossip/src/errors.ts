import { ErrorCodes, XeError, type XeErrorOptions } from '@xe/core-types';

export const GossipErrorCodes = {
  PEER_UNREACHABLE: 'PEER_UNREACHABLE',
  NODE_NOT_FOUND: 'NODE_NOT_FOUND',
  TIMEOUT: ErrorCodes.TIMEOUT,
  ABORTED: ErrorCodes.ABORTED,
  RESPONSE_TOO_LARGE: 'RESPONSE_TOO_LARGE',
  REQUEST_TOO_LARGE: 'REQUEST_TOO_LARGE',
  MESSAGE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  RATE_LIMITED: ErrorCodes.RATE_LIMITED,
  REMOTE_ERROR: 'REMOTE_ERROR',
  PROTOCOL_ERROR: 'PROTOCOL_ERROR',
  FRAME_TOO_LARGE: 'FRAME_TOO_LARGE',
  STREAM_CLOSED: 'STREAM_CLOSED',
  NOT_STARTED: 'NOT_STARTED',
  INVALID_TARGET: 'INVALID_TARGET',
  WRONG_NETWORK: 'WRONG_NETWORK',
} as const;

export type GossipErrorCode = (typeof GossipErrorCodes)[keyof typeof GossipErrorCodes];

/** Every failure of this package: a typed `code`, the cause, and for REMOTE_ERROR the remote's code. */
export class GossipError extends XeError<GossipErrorCode> {
  /** For REMOTE_ERROR: the `code` the remote handler answered with (e.g. `UNKNOWN_LEASE`). */
  readonly remoteCode: string | undefined;
  /** For REMOTE_ERROR: the remote's `error` text. */
  readonly remoteMessage: string | undefined;

  constructor(code: GossipErrorCode, message: string, options: XeErrorOptions & { remoteCode?: string; remoteMessage?: string } = {}) {
    super(code, message, options);
    this.remoteCode = options.remoteCode;
    this.remoteMessage = options.remoteMessage;
  }
}
