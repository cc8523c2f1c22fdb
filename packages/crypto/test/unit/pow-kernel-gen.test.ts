import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { powRoundSchedule } from '../../src/blake3-schedule.js';
import { renderJsKernel } from '../../src/pow-kernel-gen.js';

describe('the generated JS PoW kernel', () => {
  it('is what scripts/gen-pow-kernel.mjs writes from the round schedule (run `pnpm gen:pow-kernel` when this fails)', () => {
    const checkedIn = readFileSync(new URL('../../src/pow-kernel-js.ts', import.meta.url), 'utf8');
    expect(checkedIn === renderJsKernel()).toBe(true);
  });

  it('comes from the 7 × 8 G steps the wasm kernel is generated from', () => {
    const schedule = powRoundSchedule();
    expect(schedule).toHaveLength(56);
    // round 2 starts with the permuted words 2 and 6 (BLAKE3's MSG_PERMUTATION)
    expect(schedule[8]).toMatchObject({ round: 1, index: 0, a: 0, b: 4, c: 8, d: 12, mx: 2, my: 6 });
    const text = renderJsKernel();
    expect(text.match(/ \+ m\d\) \| 0;/g)?.length).toBe(schedule.flatMap((s) => [s.mx, s.my]).filter((m) => m < 10).length);
  });
});
