import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';

/** The layer table of ARCHITECTURE.md: which of our packages each may depend on. */
const ALLOWED: Record<string, string[]> = {
  '@xe/core-types': [],
  '@xe/crypto': ['@xe/core-types'],
  '@xe/ledger': ['@xe/core-types', '@xe/crypto'],
  '@xe/gossip': ['@xe/core-types', '@xe/crypto'],
  '@xe/timekeeper': ['@xe/core-types', '@xe/crypto'],
  '@xe/lima-provider': ['@xe/core-types'],
  '@xe/api-contract': ['@xe/core-types'],
  '@xe/api-server': ['@xe/core-types', '@xe/api-contract'],
  '@xe/client': ['@xe/core-types', '@xe/api-contract'],
  '@xe/node': [
    '@xe/core-types',
    '@xe/crypto',
    '@xe/api-contract',
    '@xe/ledger',
    '@xe/gossip',
    '@xe/timekeeper',
    '@xe/lima-provider',
    '@xe/api-server',
    '@xe/client',
  ],
};

const SOURCE = /\.(ts|mts|mjs|js|cjs)$/;
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"]([^'"]+)['"]/g;

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (SOURCE.test(name)) out.push(p);
  }
  return out;
}

/** Every violation of the layer table in the workspace at `root`. */
function layerViolations(root: string): string[] {
  const problems: string[] = [];
  const pkgs = new Map<string, { dir: string; exports: string[] }>();
  for (const group of ['packages', 'apps']) {
    let names: string[] = [];
    try {
      names = readdirSync(join(root, group));
    } catch {
      continue;
    }
    for (const n of names) {
      const dir = join(root, group, n);
      try {
        const pj = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; exports?: Record<string, unknown> };
        pkgs.set(pj.name, { dir, exports: Object.keys(pj.exports ?? { '.': 1 }) });
      } catch {}
    }
  }
  for (const [name, { dir }] of pkgs) {
    const allowed = ALLOWED[name];
    if (!allowed) {
      problems.push(`${name}: not in the layer table`);
      continue;
    }
    const pj = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']) {
      for (const dep of Object.keys(pj[field] ?? {})) {
        if (dep.startsWith('@xe/') && !allowed.includes(dep)) problems.push(`${name}: ${field} has ${dep}, which the layer table does not allow`);
      }
    }
    for (const file of files(dir)) {
      const text = readFileSync(file, 'utf8');
      const rel = relative(root, file);
      for (const m of text.matchAll(IMPORT)) {
        const spec = m[1]!;
        if (spec.startsWith('@xe/')) {
          const [scope, pkg, ...rest] = spec.split('/');
          const target = `${scope}/${pkg}`;
          if (target !== name && !allowed.includes(target)) problems.push(`${rel}: imports ${spec}, which the layer table does not allow for ${name}`);
          const sub = rest.length ? `./${rest.join('/')}` : '.';
          const t = pkgs.get(target);
          if (rest[0] === 'src' || (t && !t.exports.includes(sub))) problems.push(`${rel}: imports ${spec}, a path that is not a public entry of ${target}`);
        } else if (spec.startsWith('.')) {
          const abs = resolve(dirname(file), spec);
          for (const [other, o] of pkgs) {
            if (other !== name && (abs + sep).startsWith(o.dir + sep)) {
              problems.push(`${rel}: imports ${spec}, a path into ${other} (use its public entry)`);
            }
          }
        }
      }
    }
  }
  return problems;
}

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const temp: string[] = [];
afterAll(() => {
  for (const t of temp) rmSync(t, { recursive: true, force: true });
});

const q = (spec: string) => ["'", spec, "'"].join('');

function fakeWorkspace(pkgs: Record<string, { deps?: string[]; src?: string }>): string {
  const root = mkdtempSync(join(tmpdir(), 'xe-arch-'));
  temp.push(root);
  for (const [name, { deps = [], src = '' }] of Object.entries(pkgs)) {
    const dir = join(root, name === '@xe/node' ? 'apps' : 'packages', name.slice(4));
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, dependencies: Object.fromEntries(deps.map((d) => [d, 'workspace:*'])) }));
    writeFileSync(join(dir, 'src', 'index.ts'), src);
  }
  return root;
}

describe('package layers (ARCHITECTURE.md)', () => {
  it('the repository respects the layer table in every package.json and every import', () => {
    expect(layerViolations(repo)).toEqual([]);
  });

  it('catches a dependency the table forbids', () => {
    const root = fakeWorkspace({ '@xe/core-types': {}, '@xe/crypto': {}, '@xe/api-server': { deps: ['@xe/crypto'] } });
    expect(layerViolations(root)).toEqual([expect.stringContaining('@xe/api-server: dependencies has @xe/crypto')]);
  });

  it('catches an import the table forbids, a path into src/, and a relative path into another package', () => {
    const root = fakeWorkspace({
      '@xe/core-types': {},
      // (built from parts so this file's own imports stay clean)
      '@xe/crypto': { src: `import { x } from ${q('@xe/core-types/src/json.js')};\n` },
      '@xe/ledger': { src: `import { y } from ${q('@xe/gossip')};\nimport { z } from ${q('../../crypto/src/index.js')};\n` },
      '@xe/gossip': {},
    });
    const v = layerViolations(root);
    expect(v).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/crypto.*@xe\/core-types\/src\/json\.js.*not a public entry/),
        expect.stringMatching(/ledger.*imports @xe\/gossip.*does not allow/),
        expect.stringMatching(/ledger.*\.\.\/\.\.\/crypto\/src\/index\.js.*a path into @xe\/crypto/),
      ]),
    );
    expect(v).toHaveLength(3);
  });
});

/** Relative imports and re-exports (type-only ones included) of every source file under `srcDir`. */
function importGraph(srcDir: string): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const file of files(srcDir).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(file, 'utf8');
    const deps = [...text.matchAll(/(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)\.js'/g)].map((m) =>
      relative(srcDir, resolve(dirname(file), `${m[1]}.ts`)),
    );
    g.set(relative(srcDir, file), deps);
  }
  return g;
}

/** Every circle in a module graph, each as the path that closes it. */
function importCircles(g: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string) => {
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'open') {
      found.push([...path.slice(path.indexOf(n)), n]);
      return;
    }
    state.set(n, 'open');
    path.push(n);
    for (const d of g.get(n) ?? []) visit(d);
    path.pop();
    state.set(n, 'done');
  };
  for (const n of g.keys()) visit(n);
  return found;
}

describe('module import graph', () => {
  // Circles between packages are ruled out by the layer table; these are the circles
  // between the modules of one package (type-only imports count: they still tie files).
  const srcDirs = ['packages', 'apps'].flatMap((group) =>
    readdirSync(join(repo, group)).map((n) => join(repo, group, n, 'src')).filter((d) => {
      try {
        return statSync(d).isDirectory();
      } catch {
        return false;
      }
    }),
  );

  it('has no circle inside any package', () => {
    expect(srcDirs.length).toBeGreaterThanOrEqual(10);
    const circles: string[] = [];
    for (const dir of srcDirs) {
      const g = importGraph(dir);
      for (const deps of g.values()) for (const d of deps) expect([relative(repo, dir), g.has(d)]).toEqual([relative(repo, dir), true]);
      for (const c of importCircles(g)) circles.push(`${relative(repo, dir)}: ${c.join(' > ')}`);
    }
    expect(circles).toEqual([]);
  });

  it('finds a circle when there is one', () => {
    const g = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(importCircles(g)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });
});
