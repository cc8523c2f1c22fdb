import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { loadConfig, parseMultiplier, parseStartArgs } from '../../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'xe-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configError(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error('expected an error');
}

describe('xe-node start configuration', () => {
  it('flags win over env, which wins over the config file', () => {
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ apiPort: 9001, p2pPort: 9002, logLevel: 'warn', provider: true, vcpus: 8 }));
    const env = { XE_API_PORT: '9101', XE_LOG_LEVEL: 'debug' };
    const c = loadConfig(parseStartArgs(['--config', file, '--api-port', '9201']), env);
    expect(c.apiPort).toBe(9201);
    expect(c.logLevel).toBe('debug');
    expect(c.p2pPort).toBe(9002);
    expect(c.provider).toBe(true);
    expect(c.vcpus).toBe(8);
    expect(c.apiBind).toBe('127.0.0.1');
  });

  it('defaults: API on 127.0.0.1:8080, p2p 4001, consumer only, 600 s accept timeout', () => {
    const c = loadConfig(parseStartArgs([]), {});
    expect(c).toMatchObject({ apiBind: '127.0.0.1', apiPort: 8080, p2pPort: 4001, provider: false, timekeeper: false, acceptTimeoutMs: 600_000, rateLimit: true });
    expect(c.operatorToken).toBeUndefined();
  });

  it('a provider keeps one started sandbox per vCPU it rents out (at most 8) unless --vm-pool says otherwise', () => {
    expect(loadConfig(parseStartArgs(['--provider']), {}).vmPool).toBe(2);
    expect(loadConfig(parseStartArgs(['--provider', '--vcpus', '4']), {}).vmPool).toBe(4);
    expect(loadConfig(parseStartArgs(['--provider', '--vcpus', '64']), {}).vmPool).toBe(8);
    expect(loadConfig(parseStartArgs(['--provider', '--vcpus', '64', '--vm-pool', '0']), {}).vmPool).toBe(0);
    expect(loadConfig(parseStartArgs([]), {}).vmPool).toBe(0);
  });

  it('reads the operator token from XE_OPERATOR_TOKEN, XE_API_ADMIN_TOKEN or a file', () => {
    expect(loadConfig({}, { XE_OPERATOR_TOKEN: 'a'.repeat(32) }).operatorToken).toBe('a'.repeat(32));
    expect(loadConfig({}, { XE_API_ADMIN_TOKEN: 'b'.repeat(32) }).operatorToken).toBe('b'.repeat(32));
    const f = join(dir, 'token');
    writeFileSync(f, `${'c'.repeat(40)}\n`);
    expect(loadConfig(parseStartArgs(['--operator-token-file', f]), { XE_OPERATOR_TOKEN: 'a'.repeat(32) }).operatorToken).toBe('c'.repeat(40));
  });

  it.each([
    [['--api-port', '70000'], /--api-port: must be between 0 and 65535/],
    [['--api-port', 'eighty'], /--api-port: expected a whole number/],
    [['--vm-backend', 'docker'], /--vm-backend: expected sandbox, qemu or lima/],
    [['--log-level', 'loud'], /--log-level: expected one of/],
    [['--price-multiplier', '20'], /--price-multiplier: must be between 0.5 and 10/],
    [['--price-multiplier', 'cheap'], /--price-multiplier: expected a factor/],
    [['--provider', '--vcpus', '0'], /--vcpus: must be between 1/],
    [['--p2p-port', '9000', '--api-port', '9000'], /must differ/],
    [['--operator-token-file', '/nonexistent/token'], /--operator-token-file: cannot read/],
    [['--config', '/nonexistent/config.json'], /--config: cannot read/],
  ])('rejects %j with a message naming the option', (argv, re) => {
    const err = configError(() => loadConfig(parseStartArgs(argv), {}));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(re);
  });

  it('rejects unknown flags, unknown config keys and short tokens', () => {
    expect(configError(() => parseStartArgs(['--api-prot', '1'])).message).toMatch(/--api-prot.*xe-node start --help/);
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ apiPrt: 1 }));
    expect(configError(() => loadConfig(parseStartArgs(['--config', file]), {})).message).toMatch(/unknown key "apiPrt"/);
    expect(configError(() => loadConfig({}, { XE_OPERATOR_TOKEN: 'short' })).message).toMatch(/at least 16 characters/);
  });

  it('reads price multipliers as factors or milli', () => {
    expect(parseMultiplier(undefined)).toBe(1000);
    expect(parseMultiplier('1.5')).toBe(1500);
    expect(parseMultiplier('0.5')).toBe(500);
    expect(parseMultiplier('2500')).toBe(2500);
  });
});
