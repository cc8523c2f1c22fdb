import { createLogger, type Logger } from '@xe/core-types';
import { loadConfig, type NodeConfig, parseStartArgs } from './config.js';
import { XeNode } from './xe-node.js';

/**
 * `xe-node start`: builds the node from flags, env and config file, starts it, and stops it
 * gracefully on SIGINT/SIGTERM (a second signal exits at once). With XE_EXIT_WITH_PARENT=pid
 * (set by `xe-node devnet`) it also stops when that process is gone.
 */
export function runStart(argv: string[]): Promise<number> {
  return runNode(loadConfig(parseStartArgs(argv)));
}

/** Runs a node with a loaded config until a signal (or the devnet parent's exit) stops it; resolves with the exit code. */
export async function runNode(config: NodeConfig): Promise<number> {
  const log: Logger = createLogger(config.name, { level: config.logLevel });
  const node = XeNode.fromConfig(config, { logger: log });
  let stopping = false;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  const shutdown = (why: string) => {
    if (stopping) {
      log.warn('second signal: exiting now');
      process.exit(130);
    }
    stopping = true;
    log.info('shutting down', { reason: why });
    node.stop().then(
      () => resolveDone(0),
      (err) => {
        log.error('shutdown failed', { err });
        resolveDone(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  const parent = Number(process.env.XE_EXIT_WITH_PARENT);
  if (Number.isInteger(parent) && parent > 1) {
    const t = setInterval(() => {
      try {
        process.kill(parent, 0);
      } catch {
        clearInterval(t);
        shutdown('parent process exited');
      }
    }, 1000);
    t.unref();
  }
  try {
    await node.start();
  } catch (err) {
    log.error('start failed', { err });
    await node.stop().catch(() => undefined);
    throw err;
  }
  return done;
}
