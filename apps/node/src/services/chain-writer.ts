import type { Asset, Block, Clock, Logger, UnsignedBlock } from '@xe/core-types';
import { attachPow, type KeyPair, signBlock } from '@xe/crypto';

/** What the writer needs of the node's own account. */
export interface OwnAccountState {
  frontier: string | undefined;
  /** timestamp of the frontier block */
  frontierTimestamp: bigint;
  balances: Record<Asset, bigint>;
}

export interface ChainWriterComponents {
  /** The account's current state from the ledger (undefined: no block yet). */
  accountState(): Promise<OwnAccountState | undefined>;
  /** Admits a live block; resolves when committed, rejects with a coded error otherwise. */
  commit(block: Block): Promise<void>;
  /** Gossips a committed block. */
  publish(block: Block): Promise<void>;
  clock: Clock;
  logger: Logger;
}

type TypeFields = UnsignedBlock extends infer U
  ? U extends UnsignedBlock
    ? Omit<U, 'account' | 'previous' | 'timestamp' | 'pub_key' | 'representative'>
    : never
  : never;

/**
 * Writes the node's own blocks one at a time: the builder sees the account state after
 * every earlier write, the writer fills in account, previous, timestamp and (on the first
 * block) pub_key, then signs, solves the proof of work, commits and gossips.
 */
export class ChainWriter {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly options: { key: KeyPair; networkId: string; difficulty: bigint },
    private readonly components: ChainWriterComponents,
  ) {}

  write<T extends TypeFields>(
    build: (state: OwnAccountState) => T,
    opts: { signal?: AbortSignal; what?: string } = {},
  ): Promise<Block> {
    const run = this.queue.then(() => this.writeNow(build, opts));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async writeNow<T extends TypeFields>(
    build: (state: OwnAccountState) => T,
    opts: { signal?: AbortSignal; what?: string },
  ): Promise<Block> {
    const { key, networkId, difficulty } = this.options;
    const { clock, logger } = this.components;
    const state = (await this.components.accountState()) ?? {
      frontier: undefined,
      frontierTimestamp: 0n,
      balances: { XE: 0n, XUSD: 0n },
    };
    const fields = build(state);
    const now = clock();
    const unsigned = {
      ...fields,
      account: key.address,
      previous: state.frontier ?? '0',
      timestamp: now > state.frontierTimestamp ? now : state.frontierTimestamp,
      ...(state.frontier === undefined ? { pub_key: key.pubKeyHex } : {}),
    } as UnsignedBlock;
    const signed = signBlock(unsigned, key, networkId) as Block;
    const started = performance.now();
    const block = await attachPow(signed, difficulty, {
      ...(opts.signal ? { signal: opts.signal } : {}),
      onProgress: (p) =>
        logger.info('proof of work in progress', {
          block: signed.hash,
          type: signed.type,
          hashes: p.hashes,
          hashes_per_s: Math.round(p.hashesPerSecond),
          elapsed_ms: Math.round(p.elapsedMs),
        }),
      progressIntervalMs: 2000,
    });
    logger.debug('proof of work solved', { block: block.hash, type: block.type, ms: Math.round(performance.now() - started) });
    await this.components.commit(block);
    this.components.publish(block).catch((err) => logger.warn('gossip publish failed', { block: block.hash, err }));
    logger.info(`${opts.what ?? block.type} committed`, { block: block.hash, type: block.type });
    return block;
  }
}

