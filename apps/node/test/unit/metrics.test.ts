import { describe, expect, it } from '@jest/globals';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { Metrics } from '../../src/metrics.js';

describe('metrics', () => {
  it('counts and reads gauges into one prom-client registry, labels escaped, HELP and TYPE on each family', async () => {
    const m = new Metrics();
    const c = m.counter('xe_test_total', 'A test counter', ['code']);
    c({ code: 'a"b' });
    c({ code: 'a"b' }, 2);
    m.counter('xe_test_total', 'A test counter', ['code'])({ code: 'x' }); // the same family again
    m.gauge('xe_gauge', 'A gauge', () => 7);
    m.gauge('xe_failing', 'A gauge whose read fails', () => {
      throw new Error('not ready');
    });
    const text = await m.text();
    expect(text).toContain('# TYPE xe_test_total counter');
    expect(text).toContain('xe_test_total{code="a\\"b"} 3');
    expect(text).toContain('xe_test_total{code="x"} 1');
    expect(text).toContain('xe_gauge 7');
    const families = parsePrometheusTextFormat(text);
    expect(families.map((f) => [f.name, f.type, f.help])).toEqual([
      ['xe_test_total', 'COUNTER', 'A test counter'],
      ['xe_gauge', 'GAUGE', 'A gauge'],
      ['xe_failing', 'GAUGE', 'A gauge whose read fails'],
    ]);
  });
});
