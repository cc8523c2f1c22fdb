import { describe, expect, it } from '@jest/globals';
import { createLogger, XeError } from '../../src/index.js';

function capture(level?: 'debug' | 'info' | 'warn' | 'error' | 'silent') {
  const lines: string[] = [];
  const log = createLogger('node', { ...(level ? { level } : {}), sink: (l) => lines.push(l) });
  return { log, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLogger (pino)', () => {
  it('writes one JSON object per line: level, t, component, msg, then the fields', () => {
    const { log, lines, records } = capture();
    log.info('lease accepted', { lease: 'ab', count: 2 });
    expect(lines).toHaveLength(1);
    expect(Object.keys(records()[0]!)).toEqual(['level', 't', 'component', 'msg', 'lease', 'count']);
    expect(records()[0]).toMatchObject({ level: 'info', component: 'node', msg: 'lease accepted', lease: 'ab', count: 2 });
    expect(new Date(String(records()[0]!.t)).toISOString()).toBe(records()[0]!.t);
  });

  it('stamps each line with the injected clock', () => {
    const lines: string[] = [];
    const log = createLogger('node', { sink: (l) => lines.push(l), clock: () => 1_800_000_000_123_456_789n });
    log.info('x');
    expect(JSON.parse(lines[0]!).t).toBe('2027-01-15T08:00:00.123Z');
  });

  it('drops lines below the level; silent drops all', () => {
    const { log, records } = capture('warn');
    log.debug('a');
    log.info('b');
    log.warn('c');
    log.error('d');
    expect(records().map((r) => [r.level, r.msg])).toEqual([
      ['warn', 'c'],
      ['error', 'd'],
    ]);
    const quiet = capture('silent');
    quiet.log.error('x');
    expect(quiet.lines).toEqual([]);
  });

  it('names child loggers component.child and shares the sink', () => {
    const { log, records } = capture('debug');
    log.child('gossip').child('sync').debug('page', { n: 1 });
    expect(records()[0]).toMatchObject({ level: 'debug', component: 'node.gossip.sync', msg: 'page', n: 1 });
  });

  it('writes bigints as decimal strings and errors as "CODE: message", nested too', () => {
    const { log, records } = capture();
    log.warn('failed', { err: new XeError('TIMEOUT', 'slow'), plain: new Error('x'), amount: 18446744073709551615n, deep: { list: [1n] } });
    expect(records()[0]).toMatchObject({ err: 'TIMEOUT: slow', plain: 'x', amount: '18446744073709551615', deep: { list: ['1'] } });
  });
});
