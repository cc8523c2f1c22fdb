import { readFileSync } from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import { describe, expect, it } from '@jest/globals';
import type { OpenAPIV3_1 } from 'openapi-types';
import { OPERATOR_SECURITY, openApiDocument, openApiDocumentText, ROUTE_DEFS } from '../../src/index.js';

type Doc = OpenAPIV3_1.Document;
type Schema = OpenAPIV3_1.SchemaObject;

const doc = openApiDocument() as unknown as Doc;

function schemaOf(ref: unknown): Schema {
  const r = ref as { $ref?: string };
  if (r.$ref === undefined) return ref as Schema;
  return doc.components!.schemas![r.$ref.replace('#/components/schemas/', '')] as Schema;
}

describe('the OpenAPI document', () => {
  it('passes @apidevtools/swagger-parser validation as OpenAPI 3.1', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const api = (await SwaggerParser.validate(structuredClone(doc) as never)) as Doc;
    expect(api.info.title).toBe('xe-node HTTP API');
  });

  it('is really checked by the validator (a 3.1 document with a broken response is refused)', async () => {
    const broken = structuredClone(doc) as unknown as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    broken.paths['/leases']!.get!.responses['200'] = { content: 'not an object' };
    await expect(SwaggerParser.validate(broken as never)).rejects.toThrow();
  });

  it('is what the repository holds in openapi.json (run `pnpm build` to refresh it)', () => {
    const file = readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8');
    expect(file).toBe(openApiDocumentText());
  });

  it('has every route, with its operationId, statuses and operator security', () => {
    for (const r of ROUTE_DEFS) {
      const op = doc.paths![r.path]?.[r.method.toLowerCase() as 'get' | 'post'];
      expect(op?.operationId).toBe(r.operationId);
      const statuses = Object.keys(op!.responses!);
      for (const s of [...Object.keys(r.responses), ...Object.keys(r.errors), '429', '500']) expect(statuses).toContain(s);
      if ('auth' in r && r.auth === 'operator') expect(op!.security).toEqual([{ [OPERATOR_SECURITY]: [] }]);
      else expect(op!.security).toBeUndefined();
    }
    expect(doc.components!.securitySchemes![OPERATOR_SECURITY]).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('says integer with format uint64 / int64 for the 64-bit fields', () => {
    const lease = schemaOf(doc.components!.schemas!.Lease).properties!;
    expect(lease.cost).toMatchObject({ type: 'integer', format: 'uint64' });
    expect(lease.start_time).toMatchObject({ type: 'integer', format: 'int64' });
    expect(lease.vcpus).toMatchObject({ type: 'integer' });
    const send = schemaOf(doc.components!.schemas!.SendBlock).properties!;
    for (const f of ['balance', 'amount', 'pow_nonce']) expect(send[f]).toMatchObject({ type: 'integer', format: 'uint64' });
    expect(send.timestamp).toMatchObject({ type: 'integer', format: 'int64' });
    const balance = schemaOf(doc.components!.schemas!.Balance).properties!;
    expect(schemaOf(balance.balances).properties!.XE).toMatchObject({ type: 'integer', format: 'uint64' });
  });

  it('closes request bodies and opens responses', () => {
    expect(schemaOf(doc.components!.schemas!.LeaseRequest).additionalProperties).toBe(false);
    expect(schemaOf(doc.components!.schemas!.SendBlock).additionalProperties).toBe(false);
    expect(schemaOf(doc.components!.schemas!.Lease).additionalProperties).toEqual({});
  });

  it('describes the error bodies: {error, code, retryable}, plus lease_hash on 504 and opens_at on 409', () => {
    expect(schemaOf(doc.components!.schemas!.Error).required).toEqual(['error', 'code', 'retryable']);
    const timeout = doc.paths!['/lease/request']!.post!.responses!['504'] as OpenAPIV3_1.ResponseObject;
    expect(schemaOf(timeout.content!['application/json']!.schema).required).toContain('lease_hash');
    const early = doc.paths!['/leases/{hash}/cancel']!.post!.responses!['409'] as OpenAPIV3_1.ResponseObject;
    expect(schemaOf(early.content!['application/json']!.schema).properties!.opens_at).toMatchObject({ type: 'integer', format: 'int64' });
  });

  it('describes the event stream and the Prometheus text', () => {
    const events = doc.paths!['/events']!.get!.responses!['200'] as OpenAPIV3_1.ResponseObject;
    expect(Object.keys(events.content!)).toEqual(['text/event-stream']);
    const metrics = doc.paths!['/metrics']!.get!.responses!['200'] as OpenAPIV3_1.ResponseObject;
    expect(Object.keys(metrics.content!)).toEqual(['text/plain']);
  });

  it('takes servers and a version', () => {
    const d = openApiDocument({ version: '9.9.9', servers: ['http://127.0.0.1:8080'] });
    expect(d.info.version).toBe('9.9.9');
    expect(d.servers).toEqual([{ url: 'http://127.0.0.1:8080' }]);
  });
});
