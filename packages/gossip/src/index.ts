// The polyfill must run before libp2p: keep this import first.
import './polyfill.js';

export { streamToDuplex } from './duplex.js';
export { GossipError, type GossipErrorCode, GossipErrorCodes } from './errors.js';
export {
  type Dropped,
  FairQueue,
  type FairQueueLimits,
  VALIDATION_CONCURRENCY,
  VALIDATION_CONCURRENCY_PER_PEER,
  VALIDATION_MAX_WAIT_MS,
  VALIDATION_QUEUE_PEERS,
  VALIDATION_QUEUE_PER_PEER,
} from './fair-queue.js';
export { libp2pPrivateKey, peerIdFromPubKeyHex } from './keys.js';
export type { CounterSample } from './metrics.js';
export {
  GossipNode,
  type GossipNodeComponents,
  type GossipNodeEvents,
  type GossipNodeOptions,
  type GossipStats,
  type HandleOptions,
  type HelloEvent,
  NODES_PROTOCOL,
  type PeerEvent,
  type RequestContext,
  type RequestHandler,
  type RequestOptions,
  type StreamHandler,
  type WrongNetworkEvent,
} from './gossip-node.js';
export {
  DEFAULT_SYNC_LIMITS,
  type Frontier,
  type SyncLimits,
  type SyncSink,
  type SyncBlock,
  type SyncSource,
  type SyncSummary,
} from './sync.js';
export {
  ACCEPT,
  ignore,
  type MessageContext,
  type MessageHandler,
  reject,
  toTopicValidatorResult,
  type ValidationAction,
  type ValidationResult,
  type Validator,
} from './validation.js';
export { type ConfirmationIntake, MAX_PAGE_CONFIRMATIONS } from './sync-confirmations.js';
export {
  answerVotesRequest,
  type ConfirmationSource,
  checkVoteMessage,
  fetchConfirmations,
  MAX_VOTE_FETCH_HASHES,
  parseVotesAnswer,
  parseVotesRequest,
  publishVote,
  serveVotes,
  type VoteCheckOptions,
  type VoteIntake,
  type VotesAnswer,
  type VoteVerifier,
  VOTES_MAX_RESPONSE_BYTES,
  VOTES_PROTOCOL,
  VOTES_TIMEOUT_MS,
  VOTES_TOPIC,
  voteOfMessage,
  voteValidator,
} from './votes.js';
