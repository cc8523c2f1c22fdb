import { parentPort } from 'node:worker_threads';
import { type BlockCheck, type BlockCheckJob, checkBlockStateless } from './block-check.js';

/** A verifier thread: answers each batch of block checks with their results, in order. */
parentPort!.on('message', (msg: { id: number; jobs: BlockCheckJob[] }) => {
  const results: BlockCheck[] = msg.jobs.map((job) => checkBlockStateless(job, 'worker'));
  parentPort!.postMessage({ id: msg.id, results });
});
