export { type ApiApp, type ApiOptions, createApp } from './app.js';
export type {
  AccountHead,
  AccountInfo,
  ApiDeps,
  BalanceInfo,
  CancelLeaseResult,
  ChainPage,
  ConflictRecord,
  EventSubscription,
  ExecOptions,
  FinalityInfo,
  LeaseQuery,
  LeaseRequest,
  LeaseTiming,
  NodeCertificateInfo,
  NodeCounts,
  NodeInfo,
  PendingEntry,
  ProviderInfo,
  Readiness,
  StoredBlock,
  TunnelAuth,
} from './deps.js';
export { ApiError, type ApiErrorCode, ApiErrorCodes, errorReply, isRetryable, STATUS_BY_CODE, TunnelAuthError } from './errors.js';
export { HttpMetrics } from './metrics.js';
export { type BucketOptions, DEFAULT_RATE_LIMITS, type RateLimitOptions } from './rate-limit.js';
export { ROUTES, type RouteKey, type ServedRoute } from './routes/table.js';
export { NOT_SERVED, type RouteInfo, type ServedOperationId } from './routes/types.js';
export { type ApiServer, type ApiServerOptions, createTunnelUpgradeHandler, startApiServer } from './server.js';
export { TunnelAuthenticator, type TunnelAuthVerifier } from './tunnel-auth.js';
