import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { systemClock } from '@xe/core-types';
import { makeLeaseBlock, testKey } from '../support/fixtures.js';
import { gatherForLease } from '../support/readme-example.js';

const root = new URL('../../', import.meta.url);

describe('README', () => {
  it('shows the example that is compiled and run here', () => {
    const readme = readFileSync(new URL('README.md', root), 'utf8');
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    const example = readFileSync(new URL('test/support/readme-example.ts', root), 'utf8').replace("from '../../src/index.js'", "from '@xe/timekeeper'");
    expect(block).toBe(example);
  });

  it('the example gathers two attestations whose median is now', async () => {
    const before = systemClock();
    const lease = makeLeaseBlock(testKey(10), testKey(11), before);
    const time = await gatherForLease(lease);
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(systemClock());
  });
});
