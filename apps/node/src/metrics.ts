import { Counter, Gauge, Registry } from 'prom-client';

/**
 * The node's Prometheus metrics: one prom-client `Registry` per node, created here and
 * handed to gossip and the HTTP API as a component, so `GET /metrics` serves every family
 * (node, services, gossip, HTTP) with HELP and TYPE. Units go in the names.
 */
export type Labels = Record<string, string>;

export class Metrics {
  constructor(readonly registry: Registry = new Registry()) {}

  /**
   * A counter family (registered once; a second call with the same name returns the same
   * counter) and its increment function.
   */
  counter(name: string, help: string, labelNames: readonly string[] = []): (labels?: Labels, by?: number) => void {
    const existing = this.registry.getSingleMetric(name);
    const counter = existing instanceof Counter ? existing : new Counter({ name, help, labelNames: [...labelNames], registers: [this.registry] });
    return (labels = {}, by = 1) => counter.inc(labels, by);
  }

  /** A gauge read at scrape time: one value, or one per label set. A failing read leaves the family empty. */
  gauge(name: string, help: string, collect: () => Array<[Labels, number]> | number, labelNames: readonly string[] = []): void {
    if (this.registry.getSingleMetric(name)) this.registry.removeSingleMetric(name);
    new Gauge({
      name,
      help,
      labelNames: [...labelNames],
      registers: [this.registry],
      collect() {
        this.reset();
        let values: Array<[Labels, number]> | number;
        try {
          values = collect();
        } catch {
          return;
        }
        if (typeof values === 'number') this.set(Number.isFinite(values) ? values : 0);
        else for (const [labels, v] of values) this.set(labels, Number.isFinite(v) ? v : 0);
      },
    });
  }

  /** Prometheus text of the whole registry. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
