import type { Ledger, LeaseRecord } from '@xe/ledger';
import { allLeases } from '../lease-pages.js';
import type { LeaseCanceller } from './cancel.js';
import type { ForceSettler } from './force-settle.js';
import type { VmInfoStore } from './vm-info.js';

/**
 * Watches the consumer's own leases (from the ledger's lease events and, at start, the
 * stored `created` and `accepted` ones) and keeps their timers right: a `created` lease
 * gets its cancel, an `accepted` one its force-settle and a VM info pull, an ended one
 * loses both.
 */
export class LeaseWatch {
  constructor(
    private readonly options: { address: string },
    private readonly components: { ledger: Ledger; canceller: LeaseCanceller; forceSettler: ForceSettler; vmInfo: VmInfoStore },
  ) {}

  async start(): Promise<void> {
    const { ledger } = this.components;
    ledger.events.on('lease', this.onLeaseEvent);
    for (const state of ['created', 'accepted'] as const) {
      for (const lease of await allLeases(ledger, { consumer: this.options.address, state })) this.track(lease);
    }
  }

  stop(): void {
    this.components.ledger.events.off('lease', this.onLeaseEvent);
  }

  private onLeaseEvent = ({ lease }: { lease: LeaseRecord }) => {
    if (lease.consumer === this.options.address) this.track(lease);
  };

  track(lease: LeaseRecord): void {
    const { canceller, forceSettler, vmInfo } = this.components;
    if (lease.state === 'created') {
      canceller.schedule(lease);
    } else if (lease.state === 'accepted') {
      canceller.unschedule(lease.hash);
      forceSettler.schedule(lease);
      if (!vmInfo.has(lease.hash)) void vmInfo.pull(lease);
    } else {
      canceller.unschedule(lease.hash);
      forceSettler.unschedule(lease.hash);
      vmInfo.markStopped(lease.hash);
    }
  }
}
