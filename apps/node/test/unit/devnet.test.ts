import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { parseGenesisBundle, parseJson } from '@xe/core-types';
import { DEVNET_QUORUM_PCT, devnetBootstrapOf, devnetNodeArgs, devnetReadyTimeoutMs, prepareDevnet } from '../../src/devnet.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'xe-devnet-unit-'));
  dirs.push(d);
  return d;
};
const flag = (args: string[], name: string) => args.flatMap((a, i) => (a === name ? [args[i + 1]!] : []));

describe('devnet layout', () => {
  it('twelve nodes: distinct ports, one consumer, six providers, five timekeepers (threshold 2), every node a representative of weight 1, quorum 60', async () => {
    const dir = tmp();
    const p = await prepareDevnet({ dir, nodes: 12, basePort: 20_000, fresh: false, logLevel: 'info' });
    const { nodes } = p.info;
    expect(nodes).toHaveLength(12);
    const roles = nodes.map((n) => n.roles.join());
    expect(roles.filter((r) => r === 'consumer')).toHaveLength(1);
    expect(roles.filter((r) => r === 'provider')).toHaveLength(6);
    expect(roles.filter((r) => r === 'timekeeper')).toHaveLength(5);
    const ports = p.ports.flatMap((x) => [x.p2p, x.api]);
    expect(new Set(ports).size).toBe(24);
    expect(Math.min(...ports)).toBe(20_000);
    expect(Math.max(...ports)).toBe(20_023);

    const bundle = parseGenesisBundle(parseJson(readFileSync(join(dir, 'genesis.json'), 'utf8')));
    expect(bundle.finality.quorum_pct).toBe(DEVNET_QUORUM_PCT);
    expect(bundle.finality.representatives.map((r) => r.address).sort()).toEqual(nodes.map((n) => n.address).sort());
    expect(bundle.finality.representatives.every((r) => r.weight === 1n)).toBe(true);
    expect(bundle.timekeepers.keys).toHaveLength(5);
    expect(bundle.timekeepers.threshold).toBe(2);

    // each node's arguments: its own ports, the roles it holds, peers that are already up
    for (let i = 0; i < nodes.length; i++) {
      const args = devnetNodeArgs(p, i, 'info');
      expect(flag(args, '--p2p-port')).toEqual([String(p.ports[i]!.p2p)]);
      expect(flag(args, '--api-port')).toEqual([String(p.ports[i]!.api)]);
      expect(args.includes('--provider')).toBe(nodes[i]!.roles.includes('provider'));
      expect(args.includes('--timekeeper')).toBe(nodes[i]!.roles.includes('timekeeper'));
      const boot = flag(args, '--bootstrap');
      if (i === 0) expect(boot).toEqual([]);
      else {
        expect(boot).toContain(nodes[0]!.p2p);
        expect(boot).not.toContain(nodes[i]!.p2p);
        for (const b of boot) expect(nodes.findIndex((n) => n.p2p === b)).toBeLessThan(i);
      }
    }
    // the links: three nodes fully meshed; twelve with node 0 and the two before each, no node the only path between two others
    expect([1, 2].map(devnetBootstrapOf)).toEqual([[0], [0, 1]]);
    const links = nodes.flatMap((_, i) => devnetBootstrapOf(i).map((j) => [i, j] as const));
    for (let cut = 0; cut < nodes.length; cut++) {
      const reached = new Set([cut === 0 ? 1 : 0]);
      for (let grew = true; grew; ) {
        grew = false;
        for (const [a, b] of links) {
          if (a === cut || b === cut) continue;
          for (const [x, y] of [
            [a, b],
            [b, a],
          ] as const) {
            if (reached.has(x) && !reached.has(y)) {
              reached.add(y);
              grew = true;
            }
          }
        }
      }
      expect(reached.size).toBe(nodes.length - 1);
    }
    // a devnet of twelve gets longer to come up than one of three
    expect(devnetReadyTimeoutMs(12)).toBeGreaterThan(devnetReadyTimeoutMs(3));

    // the same directory again: the same devnet
    const again = await prepareDevnet({ dir, nodes: 12, basePort: 30_000, fresh: false, logLevel: 'info' });
    expect(again.info).toEqual(p.info);
    expect(again.ports).toEqual(p.ports);
  });
});
