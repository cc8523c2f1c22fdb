import type { Reply } from '@xe/api-contract';
import { MICRO, stringifyJson } from '@xe/core-types';

/** 1234567 µ → "1.234567" */
export function units(micro: bigint): string {
  const neg = micro < 0n;
  const v = neg ? -micro : micro;
  const whole = v / MICRO;
  const frac = (v % MICRO).toString().padStart(6, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

/** "12.5" → 12500000 µ; at most 6 decimals. */
export function parseUnits(text: string, what = 'amount'): bigint {
  const m = /^(\d+)(?:\.(\d{1,6}))?$/.exec(text.trim());
  if (!m) throw new Error(`${what}: expected a number like 12 or 12.5 (at most 6 decimals), got ${JSON.stringify(text)}`);
  return BigInt(m[1]!) * MICRO + BigInt((m[2] ?? '').padEnd(6, '0') || '0');
}

export function printJson(v: unknown): void {
  process.stdout.write(`${stringifyJson(v, 2)}\n`);
}

export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function leaseLines(l: Reply<'getLease'>): string {
  const start = l.start_time > 0n ? new Date(Number(l.start_time / 1_000_000n)).toISOString() : '-';
  return [
    `lease     ${l.lease_hash}`,
    `state     ${l.state}${l.settled ? ' (settled)' : ''}`,
    `consumer  ${l.consumer}`,
    `provider  ${l.provider}`,
    `resources ${l.vcpus} vCPU, ${l.memory_mb} MB, ${l.disk_gb} GB for ${l.duration} s`,
    `cost      ${units(l.cost)} XUSD (stake ${units(l.stake)})`,
    `started   ${start}`,
    `access    ${l.access_pub_key}`,
  ].join('\n');
}
