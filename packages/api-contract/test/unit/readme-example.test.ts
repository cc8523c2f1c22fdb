import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';

// README example start
import { Lease, openApiDocument, ROUTES, ROUTES_BY_ID } from '@xe/api-contract';
import { parseJson } from '@xe/core-types';

export function example(requestText: string, answerText: string) {
  // A server reads a body with core-types' codec (integers as bigint), then the route's schema.
  const request = ROUTES_BY_ID.requestLease.body.safeParse(parseJson(requestText));
  // A client checks an answer the same way; 64-bit fields come out as exact bigints.
  const lease = Lease.parse(parseJson(answerText));
  const doc = openApiDocument({ servers: ['http://127.0.0.1:8080'] });
  return { valid: request.success, cost: lease.cost, routes: ROUTES.length, paths: Object.keys(doc.paths ?? {}).length };
}
// README example end

describe('README example', () => {
  it('runs and matches the README text', () => {
    const h = 'ab'.repeat(32);
    const answer = `{"lease_hash":"${h}","consumer":"${h}","provider":"${h}","vcpus":1,"memory_mb":1024,"disk_gb":10,"duration":3600,"access_pub_key":"${h}","cost":18446744073709551615,"stake":1,"start_time":1709500180000000001,"certificate_hash":"${h}","settled":false,"state":"accepted"}`;
    expect(example(`{"vcpus":1,"duration":3600,"access_pub_key":"${h}"}`, answer)).toEqual({ valid: true, cost: 18446744073709551615n, routes: 28, paths: 28 });
    expect(example(`{"duration":3600,"access_pub_key":"${h}"}`, answer).valid).toBe(false);

    const source = readFileSync(new URL('./readme-example.test.ts', import.meta.url), 'utf8');
    const block = source.slice(source.indexOf('// README example start\n') + 24, source.indexOf('// README example end'));
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${block}\`\`\``);
  });
});
