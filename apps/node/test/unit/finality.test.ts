import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { DEFAULT_LEASE_PARAMS, DEVNET_LEASE_PARAMS, silentLogger } from '@xe/core-types';
import { keyPairFromSeed } from '@xe/crypto';
import { LedgerEvents } from '@xe/ledger';
import { waitConfirmed } from '../../src/confirmed.js';
import { ledgerFinalityOptions, roundTimeoutNs } from '../../src/finality.js';
import { PeerDenyList } from '../../src/peer-deny-list.js';

const dir = mkdtempSync(join(tmpdir(), 'xe-finality-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('finality wiring decisions', () => {
  it('round timeout: 1 s on a devnet bundle, 5 s on production timings', () => {
    expect(roundTimeoutNs({ lease: DEVNET_LEASE_PARAMS })).toBe(1_000_000_000n);
    expect(roundTimeoutNs({ lease: DEFAULT_LEASE_PARAMS })).toBe(5_000_000_000n);
  });

  it('votes only with a key the bundle lists', () => {
    const me = keyPairFromSeed(new Uint8Array(32).fill(7));
    const other = keyPairFromSeed(new Uint8Array(32).fill(8));
    const bundle = { lease: DEVNET_LEASE_PARAMS, finality: { representatives: [{ address: other.address, weight: 1n }], quorum_pct: 60 } };
    expect(ledgerFinalityOptions(bundle as never, me).key).toBeUndefined();
    expect(ledgerFinalityOptions(bundle as never, other).key).toBe(other);
    expect(ledgerFinalityOptions(bundle as never, other).fetchAfterNs).toBe(2_000_000_000n);
  });
});

describe('waitConfirmed', () => {
  const fake = (confirmed: boolean) => ({ events: new LedgerEvents(), isConfirmed: async () => confirmed });

  it('is false when the block is dropped, the wait times out or the signal aborts; true on its confirmation', async () => {
    const l = fake(false);
    const dropped = waitConfirmed(l, 'aa'.repeat(32), { timeoutMs: 5000 });
    l.events.emit('dropped', { rejected: 'aa'.repeat(32) } as never);
    expect(await dropped).toBe(false);
    expect(await waitConfirmed(l, 'aa'.repeat(32), { timeoutMs: 20 })).toBe(false);
    const ac = new AbortController();
    const aborted = waitConfirmed(l, 'aa'.repeat(32), { timeoutMs: 5000, signal: ac.signal });
    ac.abort();
    expect(await aborted).toBe(false);
    const later = waitConfirmed(l, 'bb'.repeat(32), { timeoutMs: 5000 });
    l.events.emit('confirmed', { hash: 'cc'.repeat(32) });
    l.events.emit('confirmed', { hash: 'bb'.repeat(32) });
    expect(await later).toBe(true);
    expect(await waitConfirmed(fake(true), 'dd'.repeat(32), { timeoutMs: 5000 })).toBe(true);
    expect(l.events.listenerCount('confirmed') + l.events.listenerCount('dropped')).toBe(0);
  });
});

describe('PeerDenyList', () => {
  const A = '12D3KooWA1111111111111111111111111111111111111111111';
  const B = '12D3KooWB2222222222222222222222222222222222222222222';
  const C = '12D3KooWC3333333333333333333333333333333333333333333';

  it('refuses the peers of the other groups only, hangs up the newly refused, and lifts when emptied', () => {
    const file = join(dir, 'deny');
    writeFileSync(file, `${A} ${B}\n${C}\nnot-a-peer-id\n`);
    const hung: string[] = [];
    const list = new PeerDenyList(A, file, async (p) => void hung.push(p), silentLogger);
    list.reload();
    expect([list.denies(B), list.denies(C)]).toEqual([false, true]);
    expect(hung).toEqual([C]);
    const cList = new PeerDenyList(C, file, async () => undefined, silentLogger);
    cList.reload();
    expect([cList.denies(A), cList.denies(B)]).toEqual([true, true]);
    writeFileSync(file, '');
    list.reload();
    expect(list.denies(C)).toBe(false);
    // a node not listed refuses nobody
    writeFileSync(file, `${B}\n${C}\n`);
    list.reload();
    expect([list.denies(B), list.denies(C)]).toEqual([false, false]);
  });
});
