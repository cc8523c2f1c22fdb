import { type Multiaddr, multiaddr } from '@multiformats/multiaddr';
import type { NodeContext } from './context.js';

interface BootstrapEntry {
  addr: Multiaddr;
  peerId: string | undefined;
  attempt: number;
  timer: NodeJS.Timeout | undefined;
}

/** Bootstrap peers: dialled at start and redialled with exponential backoff whenever lost. */
export class Bootstrap {
  private readonly entries: BootstrapEntry[] = [];

  constructor(
    private readonly ctx: NodeContext,
    private readonly isConnected: (peerId: string) => boolean,
  ) {}

  start(addrs: readonly string[]): void {
    for (const addr of addrs) {
      const ma = multiaddr(addr);
      const entry: BootstrapEntry = { addr: ma, peerId: ma.getComponents().find((c) => c.name === 'p2p')?.value, attempt: 0, timer: undefined };
      this.entries.push(entry);
      this.dial(entry);
    }
  }

  stop(): void {
    for (const b of this.entries) if (b.timer) clearTimeout(b.timer);
    this.entries.length = 0;
  }

  /** A peer disconnected: redial it if it is a bootstrap peer. */
  onDisconnect(peerId: string): void {
    for (const b of this.entries) if (b.peerId === peerId) this.scheduleRedial(b);
  }

  private dial(b: BootstrapEntry): void {
    if (!this.ctx.running) return;
    if (b.peerId && this.isConnected(b.peerId)) return;
    this.ctx.node
      .dial(b.addr, { signal: this.ctx.stopSignal })
      .then((conn) => {
        b.peerId = conn.remotePeer.toString();
        b.attempt = 0;
      })
      .catch((err) => {
        this.ctx.counters.inc('xe_bootstrap_dial_failures_total');
        this.ctx.log.debug('bootstrap dial failed', { addr: b.addr.toString(), err });
        this.scheduleRedial(b);
      });
  }

  private scheduleRedial(b: BootstrapEntry): void {
    if (!this.ctx.running || b.timer) return;
    const min = this.ctx.options.redialMinMs ?? 1000;
    const max = this.ctx.options.redialMaxMs ?? 60_000;
    const delay = Math.min(max, min * 2 ** Math.min(b.attempt, 16));
    b.attempt++;
    b.timer = setTimeout(() => {
      b.timer = undefined;
      this.dial(b);
    }, delay);
    b.timer.unref();
  }
}
