import { Counter, type Registry } from 'prom-client';

/**
 * Gossip's Prometheus counters, registered in the registry the node passes (one per
 * process in apps/node; a private one otherwise). Each family is declared here once with
 * its help text and label names.
 */
const FAMILIES = {
  xe_bootstrap_dial_failures_total: { help: 'Failed dials of bootstrap peers', labels: [] },
  xe_hello_ok_total: { help: 'Hello handshakes completed', labels: [] },
  xe_hello_failures_total: { help: 'Hello handshakes failed, by reason', labels: ['reason'] },
  xe_gossip_messages_total: { help: 'Gossip messages validated, by topic, action and reason', labels: ['topic', 'action', 'reason'] },
  xe_gossip_published_total: { help: 'Gossip messages this node published, by topic', labels: ['topic'] },
  xe_node_records_dropped_total: { help: 'Node records dropped, by reason', labels: ['reason'] },
  xe_requests_served_total: { help: 'Request/response calls served, by protocol and result', labels: ['protocol', 'result'] },
  xe_sync_refused_total: { help: 'Inbound sync sessions refused, by reason', labels: ['reason'] },
  xe_sync_failures_total: { help: 'Sync sessions failed, by role and reason', labels: ['role', 'reason'] },
  xe_sync_sessions_total: { help: 'Sync sessions completed, by role', labels: ['role'] },
  xe_sync_served_blocks_total: { help: 'Blocks sent to syncing peers', labels: [] },
  xe_sync_received_blocks_total: { help: 'Blocks received from sync sessions', labels: [] },
  xe_sync_rejected_total: { help: 'Synced blocks the ledger rejected, by code', labels: ['code'] },
  xe_sync_dropped_total: { help: 'Synced items dropped before the ledger, by reason', labels: ['reason'] },
} as const satisfies Record<string, { help: string; labels: readonly string[] }>;

export type CounterName = keyof typeof FAMILIES;
export type Labels = Record<string, string>;

export interface CounterSample {
  name: string;
  labels: Labels;
  value: number;
}

function sampleKey(name: string, labels: Labels): string {
  return `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)))}`;
}

export class Counters {
  private readonly counters = new Map<CounterName, Counter>();
  /** The same counts, readable synchronously by code and tests (`counter()`, `stats()`). */
  private readonly samples = new Map<string, CounterSample>();

  constructor(registry: Registry) {
    for (const [name, f] of Object.entries(FAMILIES) as [CounterName, (typeof FAMILIES)[CounterName]][]) {
      const existing = registry.getSingleMetric(name);
      this.counters.set(name, existing instanceof Counter ? existing : new Counter({ name, help: f.help, labelNames: [...f.labels], registers: [registry] }));
    }
  }

  inc(name: CounterName, labels: Labels = {}, by = 1): void {
    if (by <= 0) return;
    this.counters.get(name)!.inc(labels, by);
    const k = sampleKey(name, labels);
    const s = this.samples.get(k);
    if (s) s.value += by;
    else this.samples.set(k, { name, labels: { ...labels }, value: by });
  }

  /** Sum over every label set of a counter, optionally restricted to matching labels. */
  sum(name: string, match: Labels = {}): number {
    let n = 0;
    for (const s of this.samples.values()) {
      if (s.name !== name) continue;
      if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) n += s.value;
    }
    return n;
  }

  snapshot(): CounterSample[] {
    return [...this.samples.values()].map((s) => ({ name: s.name, labels: { ...s.labels }, value: s.value }));
  }
}
