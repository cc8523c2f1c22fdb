import { expect, it } from '@jest/globals';
// The example of README.md, compiled and run (imports rewritten to the package source).
import { leaseCost, leaseEmission, leaseStake, parseBlock, parseJson, stringifyJson, XeError } from '../../src/index.js';

it('README example', () => {
  const lines: string[] = [];
  const log = (...a: unknown[]) => lines.push(a.map(String).join(' '));
  // --- example start ---
  const text = '{"n": 18446744073709551615, "t": 1709500180000000001}';
  const value = parseJson(text) as { n: bigint; t: bigint };
  log(value.n === 18446744073709551615n, stringifyJson(value)); // true {"n":18446744073709551615,"t":1709500180000000001}

  const cost = leaseCost({ vcpus: 1, memory_mb: 1024, disk_gb: 10, duration: 86400 });
  log(cost, leaseStake(cost, 5n), leaseEmission(cost, 2000n)); // 960000 192000 1920000

  try {
    parseBlock({ type: 'receive', account: 'AB'.repeat(32) });
  } catch (err) {
    if (err instanceof XeError) log(err.code, err.field); // INVALID_FIELD account
  }
  // --- example end ---
  expect(lines).toEqual(['true {"n":18446744073709551615,"t":1709500180000000001}', '960000 192000 1920000', 'INVALID_FIELD account']);
});
