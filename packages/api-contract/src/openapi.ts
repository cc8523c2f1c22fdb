import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { PROTOCOL_VERSION } from '@xe/core-types';
import type { ResponseDef, RouteDef } from './route.js';
import { COMMON_ERRORS, ROUTE_DEFS } from './routes.js';

/** The name of the operator token's security scheme in the document. */
export const OPERATOR_SECURITY = 'operatorToken';

function response(def: ResponseDef): ResponseConfig {
  if (def.mediaType === undefined) return { description: def.description };
  const schema = def.schema ?? { type: 'string' as const };
  return { description: def.description, content: { [def.mediaType]: { schema } } };
}

/**
 * A route as `@asteasolutions/zod-to-openapi`'s `RouteConfig`, which is also what
 * `@hono/zod-openapi`'s `createRoute` takes (same library underneath): the server can
 * register each route from here, so its validation and the document agree.
 */
export function toRouteConfig(route: RouteDef): RouteConfig {
  const responses: Record<string, ResponseConfig> = {};
  for (const [status, def] of Object.entries(route.responses)) responses[status] = response(def);
  const common = route.body === undefined ? { 429: COMMON_ERRORS[429]!, 500: COMMON_ERRORS[500]! } : COMMON_ERRORS;
  for (const [status, def] of Object.entries({ ...common, ...route.errors })) responses[status] = response(def);
  const request: NonNullable<RouteConfig['request']> = {};
  if (route.params !== undefined) request.params = route.params;
  if (route.query !== undefined) request.query = route.query;
  if (route.headers !== undefined) request.headers = route.headers;
  if (route.body !== undefined) {
    request.body = { required: route.bodyOptional !== true, content: { 'application/json': { schema: route.body } } };
  }
  const config: RouteConfig = {
    method: route.method.toLowerCase() as RouteConfig['method'],
    path: route.path,
    operationId: route.operationId,
    summary: route.summary,
    tags: [route.origin === 'xe' ? 'XE-compatible' : route.origin === 'seed' ? 'Leases API' : 'xe-node'],
    responses,
  };
  if (route.description !== undefined) config.description = route.description;
  if (Object.keys(request).length > 0) config.request = request;
  if (route.auth === 'operator') config.security = [{ [OPERATOR_SECURITY]: [] }];
  return config;
}

export interface OpenApiOptions {
  /** `info.version`; defaults to core-types' PROTOCOL_VERSION */
  version?: string;
  /** `servers[].url`s, e.g. the node's own base URL */
  servers?: string[];
}

/** The OpenAPI 3.1 document of every route, generated from `ROUTE_DEFS`. */
export function openApiDocument(options: OpenApiOptions = {}): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', OPERATOR_SECURITY, {
    type: 'http',
    scheme: 'bearer',
    description: 'the operator token (XE_OPERATOR_TOKEN, alias XE_API_ADMIN_TOKEN, or --operator-token-file)',
  });
  for (const route of ROUTE_DEFS) registry.registerPath(toRouteConfig(route));
  const doc = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'xe-node HTTP API',
      version: options.version ?? PROTOCOL_VERSION,
      description:
        'The HTTP API of an xe-node (SPEC §11). JSON everywhere; integers above 2^53 (times in unix ns, balances, nonces) are plain JSON numbers and must be read exactly (format uint64 / int64). Every error body is {error, code, retryable}.',
    },
    ...(options.servers === undefined ? {} : { servers: options.servers.map((url) => ({ url })) }),
  });
  return doc;
}

/** The document as the repository's `openapi.json` holds it: 2-space JSON and a newline. */
export function openApiDocumentText(options: OpenApiOptions = {}): string {
  return `${JSON.stringify(openApiDocument(options), null, 2)}\n`;
}
