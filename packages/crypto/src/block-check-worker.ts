import { parentPort } from 'node:worker_threads';
import { runPackedChecks, warmUpChecks } from './block-check.js';

/** A verifier thread: answers each batch of packed block checks (`packChecks`) with their answers. */
parentPort!.on('message', (msg: { id: number; bytes: Uint8Array }) => {
  const answers = runPackedChecks(msg.bytes);
  parentPort!.postMessage({ id: msg.id, answers }, [answers.buffer as ArrayBuffer]);
});

// compiled and warmed now, while the node starts, rather than on the first batch of blocks
warmUpChecks();
