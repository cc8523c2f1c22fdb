/** A small Prometheus text registry: counters and gauges with labels, units in names. */
type Labels = Record<string, string>;

function key(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');
}

interface Family {
  help: string;
  type: 'counter' | 'gauge';
  values: Map<string, number>;
  collect?: () => Array<[Labels, number]> | number;
}

export class Metrics {
  private readonly families = new Map<string, Family>();

  private family(name: string, help: string, type: Family['type']): Family {
    let f = this.families.get(name);
    if (!f) {
      f = { help, type, values: new Map() };
      this.families.set(name, f);
    }
    return f;
  }

  counter(name: string, help: string): (labels?: Labels, by?: number) => void {
    const f = this.family(name, help, 'counter');
    return (labels = {}, by = 1) => {
      const k = key(labels);
      f.values.set(k, (f.values.get(k) ?? 0) + by);
    };
  }

  /** A gauge read at scrape time. */
  gauge(name: string, help: string, collect: () => Array<[Labels, number]> | number): void {
    const f = this.family(name, help, 'gauge');
    f.collect = collect;
  }

  render(): string {
    const out: string[] = [];
    for (const [name, f] of this.families) {
      out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      let values: Array<[string, number]> = [...f.values];
      if (f.collect) {
        try {
          const c = f.collect();
          values = typeof c === 'number' ? [['', c]] : c.map(([l, v]) => [key(l), v]);
        } catch {
          values = [];
        }
      }
      for (const [k, v] of values) out.push(`${name}${k ? `{${k}}` : ''} ${Number.isFinite(v) ? v : 0}`);
    }
    return `${out.join('\n')}\n`;
  }
}
