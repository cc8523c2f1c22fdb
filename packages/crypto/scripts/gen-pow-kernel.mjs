// Writes src/pow-kernel-js.ts from the round schedule (src/blake3-schedule.ts), through the
// compiled generator: run `pnpm gen:pow-kernel` (it builds first). A unit test fails when the
// checked-in file differs from what this writes.
import { writeFileSync } from 'node:fs';
import { renderJsKernel } from '../dist/pow-kernel-gen.js';

const target = new URL('../src/pow-kernel-js.ts', import.meta.url);
writeFileSync(target, renderJsKernel());
console.log(`wrote ${target.pathname}`);
