import { parentPort, workerData } from 'node:worker_threads';
import { PowEngine } from './pow-engine.js';

/**
 * A proof-of-work search thread. It receives jobs, searches its stride of the nonce
 * space in batches, reports progress into a shared counter, and stops when the shared
 * flag for its job is raised.
 */
interface Job {
  id: number;
  hash: string;
  diffHi: number;
  diffLo: number;
  lo: number;
  hi: number;
  stride: number;
}

const { control } = workerData as { control: SharedArrayBuffer };
// control[0]: id of the job to stop (or 0); control[1 + index]: hashes done by worker `index`
const flags = new Int32Array(control);
const index = (workerData as { index: number }).index;
const kernel = new PowEngine();
const BATCH = 16384;

parentPort!.on('message', (job: Job) => {
  kernel.setHash(job.hash);
  let lo = job.lo;
  let hi = job.hi;
  for (;;) {
    if (Atomics.load(flags, 0) === job.id) return;
    const [found, l, h] = kernel.search(lo, hi, job.stride, BATCH, job.diffHi, job.diffLo);
    if (found) {
      Atomics.add(flags, 1 + index, BATCH);
      parentPort!.postMessage({ id: job.id, lo: l, hi: h });
      return;
    }
    Atomics.add(flags, 1 + index, BATCH);
    lo = l;
    hi = h;
  }
});
