export { isTimekeeperError, TimekeeperError, type TimekeeperErrorCode, TimekeeperErrorCodes, type TimekeeperFailure } from './errors.js';
export {
  type AttestationGathererComponents,
  type AttestationGathererOptions,
  AttestationGatherer,
  type AttestationTransport,
  DEFAULT_OVERALL_TIMEOUT_MS,
  DEFAULT_PER_REQUEST_TIMEOUT_MS,
  type GatherRequest,
  type RequestOneOptions,
  SELF_REQUESTER,
  UNKNOWN_LEASE_RETRY_MS,
} from './gatherer.js';
export {
  ATTESTABLE_STATES,
  type AttestationSignerComponents,
  type AttestationSignerOptions,
  AttestationSigner,
  type BlockIngest,
  type LeaseFacts,
  type LeaseStateLookup,
  MAX_OTHER_SLOTS,
  type RateBucket,
  type SignContext,
} from './signer.js';
export { type AttestRequest, parseAttestRequest, parseAttestResponse } from './wire.js';
