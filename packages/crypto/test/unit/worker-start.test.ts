import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';

const run = promisify(execFile);

describe('startWorker', () => {
  it('starts a thread in a process run with a V8 flag node refuses in a Worker’s execArgv', async () => {
    // `--max-semi-space-size` is process-wide: new Worker(url, {execArgv: process.execArgv}) throws
    const startWorker = new URL('../../dist/worker-start.js', import.meta.url).href;
    const script = `import { startWorker } from ${JSON.stringify(startWorker)};
      const url = new URL('data:text/javascript,' + encodeURIComponent("import { parentPort, workerData } from 'node:worker_threads'; parentPort.postMessage(workerData * 2);"));
      const w = startWorker(url, { workerData: 21 });
      w.once('message', async (m) => { console.log(JSON.stringify({ answer: m })); await w.terminate(); });`;
    const { stdout } = await run(process.execPath, ['--max-semi-space-size=32', '--input-type=module', '-e', script], { timeout: 15_000 });
    expect(JSON.parse(stdout.trim())).toEqual({ answer: 42 });
  });
});
