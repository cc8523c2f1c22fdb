import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker thread with the process's Node options (loaders, conditions), but `--input-type`
 * (node -e / --eval), which makes a worker refuse to load its file. Node refuses a worker a
 * process-wide flag (V8's heap and GC flags such as `--max-semi-space-size=64`); such a flag
 * applies to the thread anyway, so when the options are refused the thread starts without them.
 */
export function startWorker(url: URL, options: Omit<WorkerOptions, 'execArgv'> = {}): Worker {
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
  try {
    return new Worker(url, { ...options, execArgv });
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw err;
    return new Worker(url, { ...options, execArgv: [] });
  }
}
