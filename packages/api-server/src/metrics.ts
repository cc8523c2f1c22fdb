import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The API's own Prometheus metrics (request counts and latency per route, tunnels), in the node's registry. */

const BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export class HttpMetrics {
  /** Where these metrics live; `GET /metrics` serves the whole registry. */
  readonly registry: Registry;
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly latency: Histogram<'method' | 'route'>;
  private readonly tunnelsOpened: Counter;
  private readonly tunnelsActive: Gauge;
  private readonly tunnelBytes: Counter;

  /** `registry`: the node's one registry (a private one by default, e.g. in tests). */
  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.requests = new Counter({
      name: 'xe_api_http_requests_total',
      help: 'HTTP requests answered, by route and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'xe_api_http_request_duration_seconds',
      help: 'Time to answer an HTTP request.',
      labelNames: ['method', 'route'],
      buckets: BUCKETS_SECONDS,
      registers,
    });
    this.tunnelsOpened = new Counter({ name: 'xe_api_tunnels_opened_total', help: 'TCP tunnels opened.', registers });
    this.tunnelsActive = new Gauge({ name: 'xe_api_tunnels_active', help: 'Open TCP tunnels.', registers });
    this.tunnelBytes = new Counter({ name: 'xe_api_tunnel_bytes_total', help: 'Bytes carried by closed tunnels, both directions.', registers });
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    this.requests.inc({ method, route, status: String(status) });
    this.latency.observe({ method, route }, seconds);
  }

  tunnelOpened(): void {
    this.tunnelsOpened.inc();
    this.tunnelsActive.inc();
  }

  tunnelClosed(bytes: number): void {
    this.tunnelsActive.dec();
    if (bytes > 0) this.tunnelBytes.inc(bytes);
  }
}
