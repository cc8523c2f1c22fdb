export type { BodyInput, EventName, OperationId, Reply, RouteKey } from '@xe/api-contract';
export * from './client.js';
export * from './errors.js';
export type { EventsOptions, XeEvent } from './events.js';
export type { CallInput, CallOptions } from './transport.js';
export type { TunnelCredentials } from './tunnel.js';
