import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { LevelStore, MemoryStore, type Store } from '../../src/index.js';

const b = (...xs: number[]) => Uint8Array.from(xs);
const dirs: string[] = [];

/** The compliance suite every Store implementation passes. */
function storeTests(name: string, factory: () => Promise<Store>) {
  describe(`Store compliance: ${name}`, () => {
    it('gets, puts and deletes in atomic batches', async () => {
      const s = await factory();
      expect(await s.get(b(1, 2))).toBeUndefined();
      await s.batch([
        { type: 'put', key: b(1, 2), value: b(9) },
        { type: 'put', key: b(1, 3), value: b(8, 7) },
      ]);
      expect(await s.get(b(1, 2))).toEqual(b(9));
      expect(await s.getMany([b(1, 3), b(1, 4)])).toEqual([b(8, 7), undefined]);
      await s.batch([
        { type: 'del', key: b(1, 2) },
        { type: 'put', key: b(1, 3), value: b(1) },
      ]);
      expect(await s.get(b(1, 2))).toBeUndefined();
      expect(await s.get(b(1, 3))).toEqual(b(1));
      await s.close();
    });

    it('scans ranges bytewise, bounded, reversed and limited', async () => {
      const s = await factory();
      const keys = [b(2), b(2, 0), b(2, 0xff), b(2, 1, 5), b(3), b(1, 0xff)];
      await s.batch(keys.map((k, i) => ({ type: 'put' as const, key: k, value: b(i) })));
      const scan = async (o: Parameters<Store['range']>[0]) => {
        const out: number[][] = [];
        for await (const [k] of s.range(o)) out.push([...k]);
        return out;
      };
      expect(await scan({ gte: b(2), lt: b(3) })).toEqual([[2], [2, 0], [2, 1, 5], [2, 0xff]]);
      expect(await scan({ gte: b(2, 0), lt: b(2, 0xff), reverse: true })).toEqual([[2, 1, 5], [2, 0]]);
      expect(await scan({ gte: b(2), lt: b(3), limit: 2 })).toEqual([[2], [2, 0]]);
      const ac = new AbortController();
      ac.abort();
      await expect(scan({ gte: b(2), lt: b(3), signal: ac.signal })).rejects.toBeDefined();
      await s.close();
    });

    it('scans every entry of a range larger than a read chunk, by count and by bytes', async () => {
      // 2,500 entries of 2 KiB: more entries than one chunk holds and more bytes (5 MiB)
      const s = await factory();
      const n = 2_500;
      const key = (i: number) => b(7, i >> 8, i & 0xff);
      for (let i = 0; i < n; i += 500) {
        await s.batch(Array.from({ length: 500 }, (_, j) => ({ type: 'put' as const, key: key(i + j), value: new Uint8Array(2048).fill((i + j) & 0xff) })));
      }
      const scan = async (o: Parameters<Store['range']>[0]) => {
        const out: number[] = [];
        for await (const [k, v] of s.range(o)) {
          const i = (k[1]! << 8) | k[2]!;
          if (v.length !== 2048 || v[2047] !== (i & 0xff)) throw new Error(`entry ${i}: wrong value`);
          out.push(i);
        }
        return out;
      };
      const all = Array.from({ length: n }, (_, i) => i);
      expect(await scan({ gte: b(7), lt: b(8) })).toEqual(all);
      expect(await scan({ gte: b(7), lt: b(8), limit: 1_700 })).toEqual(all.slice(0, 1_700));
      expect(await scan({ gte: b(7), lt: b(8), reverse: true, limit: 1_200 })).toEqual(all.slice(-1_200).reverse());
      await s.close();
    });

    it('returns copies, not aliases', async () => {
      const s = await factory();
      const v = b(1, 2, 3);
      await s.batch([{ type: 'put', key: b(5), value: v }]);
      v[0] = 9;
      const got = (await s.get(b(5)))!;
      expect(got).toEqual(b(1, 2, 3));
      got[1] = 9;
      expect(await s.get(b(5))).toEqual(b(1, 2, 3));
      await s.close();
    });
  });
}

storeTests('memory', async () => new MemoryStore());
storeTests('leveldb', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ledger-store-'));
  dirs.push(dir);
  return LevelStore.open(dir);
});

afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
