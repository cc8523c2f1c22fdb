/** The API's own Prometheus metrics: request counts and latency per route. */

const BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] as const;

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export class HttpMetrics {
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  private tunnelsOpened = 0;
  private tunnelsActive = 0;
  private tunnelBytes = 0;

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method}\u0000${route}\u0000${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const hKey = `${method}\u0000${route}`;
    let h = this.latency.get(hKey);
    if (h === undefined) {
      h = { counts: new Array(BUCKETS_SECONDS.length).fill(0), sum: 0, count: 0 };
      this.latency.set(hKey, h);
    }
    for (let i = 0; i < BUCKETS_SECONDS.length; i++) {
      if (seconds <= BUCKETS_SECONDS[i]!) {
        h.counts[i]!++;
        break;
      }
    }
    h.sum += seconds;
    h.count++;
  }

  tunnelOpened(): void {
    this.tunnelsOpened++;
    this.tunnelsActive++;
  }

  tunnelClosed(bytes: number): void {
    this.tunnelsActive--;
    this.tunnelBytes += bytes;
  }

  render(): string {
    const out: string[] = [];
    out.push('# HELP xe_api_http_requests_total HTTP requests answered, by route and status.');
    out.push('# TYPE xe_api_http_requests_total counter');
    for (const [key, n] of this.requests) {
      const [method, route, status] = key.split('\u0000') as [string, string, string];
      out.push(`xe_api_http_requests_total{method="${label(method)}",route="${label(route)}",status="${status}"} ${n}`);
    }
    out.push('# HELP xe_api_http_request_duration_seconds Time to answer an HTTP request.');
    out.push('# TYPE xe_api_http_request_duration_seconds histogram');
    for (const [key, h] of this.latency) {
      const [method, route] = key.split('\u0000') as [string, string];
      const l = `method="${label(method)}",route="${label(route)}"`;
      let cumulative = 0;
      for (let i = 0; i < BUCKETS_SECONDS.length; i++) {
        cumulative += h.counts[i]!;
        out.push(`xe_api_http_request_duration_seconds_bucket{${l},le="${BUCKETS_SECONDS[i]}"} ${cumulative}`);
      }
      out.push(`xe_api_http_request_duration_seconds_bucket{${l},le="+Inf"} ${h.count}`);
      out.push(`xe_api_http_request_duration_seconds_sum{${l}} ${h.sum}`);
      out.push(`xe_api_http_request_duration_seconds_count{${l}} ${h.count}`);
    }
    out.push('# HELP xe_api_tunnels_opened_total TCP tunnels opened.');
    out.push('# TYPE xe_api_tunnels_opened_total counter');
    out.push(`xe_api_tunnels_opened_total ${this.tunnelsOpened}`);
    out.push('# HELP xe_api_tunnels_active Open TCP tunnels.');
    out.push('# TYPE xe_api_tunnels_active gauge');
    out.push(`xe_api_tunnels_active ${this.tunnelsActive}`);
    out.push('# HELP xe_api_tunnel_bytes_total Bytes carried by closed tunnels, both directions.');
    out.push('# TYPE xe_api_tunnel_bytes_total counter');
    out.push(`xe_api_tunnel_bytes_total ${this.tunnelBytes}`);
    return `${out.join('\n')}\n`;
  }
}
