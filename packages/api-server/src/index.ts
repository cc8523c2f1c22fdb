export { type ApiApp, type ApiOptions, createApp } from './app.js';
export type {
  AccountInfo,
  ApiDeps,
  CancelLeaseResult,
  ConflictRecord,
  ExecOptions,
  LeaseQuery,
  LeaseRequest,
  NodeCertificateInfo,
  NodeCounts,
  NodeInfo,
  Readiness,
  TunnelAuth,
} from './deps.js';
export { ApiError, type ApiErrorCode, ApiErrorCodes, errorReply, STATUS_BY_CODE, TunnelAuthError } from './errors.js';
export { HttpMetrics } from './metrics.js';
export { type BucketOptions, DEFAULT_RATE_LIMITS, type RateLimitOptions } from './rate-limit.js';
export { ROUTES, type RouteKey } from './routes/table.js';
export type { RouteInfo } from './routes/types.js';
export { type ApiServer, type ApiServerOptions, createTunnelUpgradeHandler, startApiServer } from './server.js';
export { TunnelAuthenticator, type TunnelAuthVerifier } from './tunnel-auth.js';
