import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { EXEC_OUTPUT_CAP_BYTES, type ExecResult, abortError, throwIfAborted } from '@xe/core-types';

/** Exit code reported for a command killed at its timeout (as timeout(1) does). */
export const TIMEOUT_EXIT_CODE = 124;

export interface RunCappedOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  env?: NodeJS.ProcessEnv;
  /** Bytes kept per stream; EXEC_OUTPUT_CAP_BYTES by default. */
  capBytes?: number;
  cwd?: string;
  /** Kill the processes below the child first, then its group (see killTree); default: the group at once. */
  killTree?: boolean;
  /** 'pipe' keeps the child's stdin open (never written) until the result is in; default 'ignore'. */
  stdin?: 'ignore' | 'pipe';
  /**
   * With stdin 'pipe': at the timeout, first close the child's stdin and give it this long to
   * end by itself before its group is killed (an ssh client whose remote side ends the command
   * when its channel's stdin closes: the channel then closes in order, with an exit status).
   */
  closeStdinGraceMs?: number;
  /** Run as this user and group (the caller must be root). */
  uid?: number;
  gid?: number;
}

/** Collects a stream up to `cap` bytes and keeps draining the rest. */
class CappedBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly cap: number) {}

  push(chunk: Buffer): void {
    const room = this.cap - this.size;
    if (room <= 0) {
      if (chunk.length > 0) this.truncated = true;
      return;
    }
    if (chunk.length > room) {
      this.chunks.push(chunk.subarray(0, room));
      this.size += room;
      this.truncated = true;
    } else {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
  }

  text(): string {
    let buf = Buffer.concat(this.chunks);
    if (this.truncated) {
      // Never end on a partial UTF-8 sequence: drop a trailing incomplete character.
      let i = buf.length - 1;
      let back = 0;
      while (i >= 0 && back < 4 && (buf[i]! & 0xc0) === 0x80) {
        i--;
        back++;
      }
      if (i >= 0) {
        const lead = buf[i]!;
        const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
        if (need > back + 1) buf = buf.subarray(0, i);
      }
    }
    return buf.toString('utf8');
  }
}

/** Sends `sig` to the process group led by `pid`; false when it is already gone. */
export function killGroup(pid: number, sig: NodeJS.Signals = 'SIGKILL'): boolean {
  try {
    process.kill(-pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** Every descendant of `pid` (children first, then theirs), from /proc; bounded. */
export function descendants(pid: number, max = 4096): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0 && out.length < max) {
    for (const c of childPids(queue.shift()!)) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/**
 * Kills the processes below `pid` first, then (after `graceMs`) `pid`'s group. For an
 * nsenter that forked into a PID namespace: it reaps its child as it dies, so no zombie
 * is left to a reaper outside the namespace.
 */
export function killTree(pid: number, graceMs = 300): void {
  for (const d of descendants(pid)) {
    try {
      process.kill(d, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs).unref();
}

/**
 * Runs a program in its own process group with each output stream capped, and kills
 * the whole group at the timeout or on abort. Never rejects for a non-zero exit.
 */
export function runCapped(file: string, args: readonly string[], options: RunCappedOptions): Promise<ExecResult> {
  throwIfAborted(options.signal);
  const cap = options.capBytes ?? EXEC_OUTPUT_CAP_BYTES;
  return new Promise<ExecResult>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        detached: true,
        stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
        env: options.env ?? process.env,
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
        ...(options.uid === undefined ? {} : { uid: options.uid }),
        ...(options.gid === undefined ? {} : { gid: options.gid }),
      });
    } catch (err) {
      reject(err);
      return;
    }
    child.stdin?.on('error', () => {});
    const out = new CappedBuffer(cap);
    const errBuf = new CappedBuffer(cap);
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => errBuf.push(c));
    let timedOut = false;
    let aborted = false;
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    let settled = false;
    let graceTimer: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;

    const kill = () => {
      if (child.pid !== undefined) {
        if (options.killTree) killTree(child.pid);
        else killGroup(child.pid);
      }
      // A process that escaped the group may still hold the pipes: stop waiting soon.
      graceTimer ??= setTimeout(finish, 2000);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      if (options.closeStdinGraceMs !== undefined && child.stdin) {
        child.stdin.end();
        killTimer = setTimeout(kill, options.closeStdinGraceMs);
      } else kill();
    }, options.timeoutMs);
    const onAbort = () => {
      aborted = true;
      kill();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    function finish(): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (graceTimer) clearTimeout(graceTimer);
      if (killTimer) clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      child.stdout!.destroy();
      child.stderr!.destroy();
      child.stdin?.destroy();
      if (aborted) {
        reject(abortError(options.signal));
        return;
      }
      const result: ExecResult = {
        exit_code: timedOut
          ? TIMEOUT_EXIT_CODE
          : exitCode ?? (exitSignal ? 128 + signalNumber(exitSignal) : 1),
        stdout: out.text(),
        stderr: errBuf.text(),
      };
      if (out.truncated) result.stdout_truncated = true;
      if (errBuf.truncated) result.stderr_truncated = true;
      if (timedOut) result.timed_out = true;
      resolve(result);
    }

    child.on('error', (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.on('exit', (code, sig) => {
      exitCode = code;
      exitSignal = sig;
      // A background process of the command may still hold the pipes: do not wait for it
      // long (it keeps running, as after an ssh session; teardown ends it).
      // The turn after the timer reads what is already in the pipes before finishing.
      graceTimer ??= setTimeout(() => setImmediate(finish), 500);
    });
    child.on('close', finish);
  });
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };

function signalNumber(sig: NodeJS.Signals): number {
  return SIGNALS[sig] ?? 0;
}

/** /proc/<pid>/stat fields after the command name (state is index 0, start time index 19). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** True while `pid` exists and is not a zombie. */
export function isProcessAlive(pid: number): boolean {
  const f = statFields(pid);
  return f !== undefined && f[0] !== 'Z' && f[0] !== 'X';
}

/** Start time of `pid` in clock ticks since boot, or undefined when it is gone. */
export function processStartTime(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/** The NUL-separated arguments of `pid`, or undefined when it is gone. */
export function processArgs(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
  } catch {
    return undefined;
  }
}

/** Direct children of `pid` (from /proc/<pid>/task/<pid>/children). */
export function childPids(pid: number): number[] {
  try {
    const raw = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return raw === '' ? [] : raw.split(/\s+/).map(Number);
  } catch {
    return [];
  }
}

/**
 * Polls `check` every `intervalMs` until it returns a value other than undefined, or the
 * deadline — measured on the monotonic clock, so a wall-clock step (NTP, an operator)
 * neither ends the wait early nor stretches it.
 */
export async function pollUntil<T>(
  check: () => T | undefined | Promise<T | undefined>,
  opts: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal | undefined },
): Promise<T | undefined> {
  const deadline = performance.now() + opts.timeoutMs;
  for (;;) {
    throwIfAborted(opts.signal);
    const v = await check();
    if (v !== undefined) return v;
    if (performance.now() >= deadline) return undefined;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 20));
  }
}
