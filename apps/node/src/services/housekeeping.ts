import type { Block, Clock, Logger } from '@xe/core-types';
import type { Ledger } from '@xe/ledger';
import type { ChainWriter } from './chain-writer.js';
import type { Timers } from './ports.js';
import { Scheduler, systemTimers } from './scheduler.js';

/**
 * Always on: receives every pending send to this node's account (so funds from the
 * genesis bundle or another account arrive without a manual step), and runs the archive
 * sweep on a timer.
 */
export class Housekeeping {
  private readonly scheduler: Scheduler;
  private receiving = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly options: { address: string; sweepIntervalMs?: number },
    private readonly components: { ledger: Ledger; writer: ChainWriter; clock: Clock; timers?: Timers; logger: Logger },
  ) {
    this.scheduler = new Scheduler({ clock: components.clock, timers: components.timers ?? systemTimers });
  }

  async start(): Promise<void> {
    this.components.ledger.events.on('block', this.onBlock);
    this.components.ledger.events.on('confirmed', this.onConfirmed);
    this.scheduleSweep();
    void this.receivePending();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.components.ledger.events.off('block', this.onBlock);
    this.components.ledger.events.off('confirmed', this.onConfirmed);
    this.scheduler.stop();
  }

  private scheduleSweep(): void {
    this.scheduler.after('sweep', this.options.sweepIntervalMs ?? 60_000, () => {
      this.scheduleSweep();
      void this.sweep();
    });
  }

  private onBlock = ({ block }: { block: Block }) => {
    if (block.type === 'send' && block.destination === this.options.address) void this.receivePending();
  };

  /** A send to us may have become confirmed (SPEC §12: only confirmed sends are received). */
  private onConfirmed = () => {
    if (this.waitingOnConfirmation) void this.receivePending();
  };
  private waitingOnConfirmation = false;

  /** Writes a receive for each confirmed pending send to us; coalesces concurrent triggers. */
  async receivePending(): Promise<void> {
    if (this.receiving) {
      this.again = true;
      return;
    }
    this.receiving = true;
    try {
      do {
        this.again = false;
        const pending = await this.components.ledger.pendingFor(this.options.address);
        this.waitingOnConfirmation = false;
        for (const p of pending) {
          if (this.stopped) return;
          if (!(await this.components.ledger.isConfirmed(p.hash))) {
            this.waitingOnConfirmation = true;
            continue;
          }
          try {
            await this.components.writer.write((s) => ({ type: 'receive' as const, asset: p.asset, balance: s.balances[p.asset] + p.amount, source: p.hash }), {
              what: 'receive',
            });
            this.components.logger.info('funds received', { from: p.from, asset: p.asset, amount: p.amount });
          } catch (err) {
            this.components.logger.warn('receive failed', { send: p.hash, err });
          }
        }
      } while (this.again && !this.stopped);
    } finally {
      this.receiving = false;
    }
  }

  async sweep(): Promise<void> {
    try {
      const archived = await this.components.ledger.archiveSweep(this.components.clock());
      const n = Array.isArray(archived) ? archived.length : Number(archived ?? 0);
      if (n > 0) this.components.logger.info('leases archived', { count: n });
    } catch (err) {
      this.components.logger.error('archive sweep failed', { err });
    }
  }
}
