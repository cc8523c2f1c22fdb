import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

const pkg = fileURLToPath(new URL('../..', import.meta.url));
const script = join(pkg, 'test/support/node-process.mjs');

interface Line {
  event: string;
  [k: string]: unknown;
}

class Proc {
  readonly child: ChildProcess;
  private readonly lines: Line[] = [];
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<number | null>;

  constructor(options: Record<string, unknown>) {
    this.child = spawn(process.execPath, [script, JSON.stringify(options)], { cwd: pkg, stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout! }).on('line', (l) => {
      this.lines.push(JSON.parse(l) as Line);
      for (const w of this.waiters) w();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Resolves with the first line (seen so far or to come) that matches. */
  waitLine(pred: (l: Line) => boolean, what: string, timeoutMs = 60_000): Promise<Line> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.lines.find(pred);
        if (hit) {
          this.waiters.delete(check);
          clearTimeout(timer);
          resolve(hit);
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  send(cmd: string): void {
    this.child.stdin!.write(`${cmd}\n`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.pid === undefined) return;
    process.kill(this.child.pid, 'SIGTERM');
    await this.exited;
  }
}

describe('three nodes as separate OS processes', () => {
  const procs: Proc[] = [];
  let dir: string;

  const start = (options: Record<string, unknown>) => {
    const p = new Proc({ syncIntervalMs: 1000, ...options });
    procs.push(p);
    return p;
  };

  beforeAll(() => {
    // The child processes run the compiled package.
    execFileSync(process.execPath, [join(pkg, '../../node_modules/typescript/bin/tsc'), '-p', join(pkg, 'tsconfig.build.json')], { stdio: 'inherit' });
    dir = mkdtempSync(join(tmpdir(), 'xe-gossip-mp-'));
  }, 120_000);

  afterAll(async () => {
    for (const p of procs) {
      if (p.child.pid !== undefined && p.child.exitCode === null) process.kill(p.child.pid, 'SIGKILL');
    }
    await Promise.all(procs.map((p) => p.exited));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a chain of processes catches up through sync, and again after a restart', async () => {
    const p1 = start({ label: 'one', make: 2000 });
    const l1 = await p1.waitLine((l) => l.event === 'listening', 'p1 listening');
    expect(l1.blocks).toBe(2000);
    p1.send('state');
    const s1 = await p1.waitLine((l) => l.event === 'state', 'p1 state');

    const p2 = start({ label: 'two', bootstrap: [l1.multiaddr] });
    const l2 = await p2.waitLine((l) => l.event === 'listening', 'p2 listening');
    const p3opts = { label: 'three', bootstrap: [l2.multiaddr], data: join(dir, 'three.jsonl') };
    let p3 = start(p3opts);
    // p3 only knows p2; it gets the history once p2 has it.
    await p3.waitLine((l) => l.event === 'blocks' && l.digest === s1.digest, 'p3 caught up');
    await p2.waitLine((l) => l.event === 'blocks' && l.digest === s1.digest, 'p2 caught up');

    await p3.stop();
    p1.send('make 500');
    const made = await p1.waitLine((l) => l.event === 'made', 'p1 made 500 more');
    expect(made.blocks).toBe(2500);
    p3 = start(p3opts);
    const again = await p3.waitLine((l) => l.event === 'listening', 'p3 restarted');
    expect(again.blocks).toBe(2000);
    const final = await p3.waitLine((l) => l.event === 'blocks' && l.digest === made.digest, 'p3 caught up again');
    expect(final.blocks).toBe(2500);
    expect(final.certificates).toBe(made.certificates);
  }, 120_000);
});
