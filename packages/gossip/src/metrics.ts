/** Counters with labels; a snapshot for code and Prometheus text for operators. */
export type Labels = Record<string, string>;

export interface CounterSample {
  name: string;
  labels: Labels;
  value: number;
}

function key(name: string, labels: Labels): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/["\\\n]/g, '_')}"`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

export class Counters {
  private readonly samples = new Map<string, CounterSample>();

  inc(name: string, labels: Labels = {}, by = 1): void {
    const k = key(name, labels);
    const s = this.samples.get(k);
    if (s) s.value += by;
    else this.samples.set(k, { name, labels: { ...labels }, value: by });
  }

  /** The value of one counter (0 when never incremented). */
  get(name: string, labels: Labels = {}): number {
    return this.samples.get(key(name, labels))?.value ?? 0;
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

  /** Prometheus text exposition (every series is a counter). */
  prometheus(): string {
    const byName = new Map<string, string[]>();
    for (const [k, s] of this.samples) {
      let lines = byName.get(s.name);
      if (!lines) byName.set(s.name, (lines = []));
      lines.push(`${k} ${s.value}`);
    }
    const out: string[] = [];
    for (const [name, lines] of [...byName].sort(([a], [b]) => (a < b ? -1 : 1))) {
      out.push(`# TYPE ${name} counter`, ...lines.sort());
    }
    return out.length === 0 ? '' : `${out.join('\n')}\n`;
  }
}
