import { execa } from 'execa';
import { type ExecResult, type Logger, abortError, parseJson, silentLogger } from '@xe/core-types';
import { LimaError, VmErrorCodes } from '../errors.js';
import { runCapped } from '../proc.js';

/** Per-command timeouts of limactl (ms). */
export interface LimactlTimeouts {
  create: number;
  start: number;
  list: number;
  stop: number;
  delete: number;
}

export const DEFAULT_LIMACTL_TIMEOUTS: Readonly<LimactlTimeouts> = Object.freeze({
  create: 120_000,
  start: 600_000,
  list: 30_000,
  stop: 120_000,
  delete: 120_000,
});

/** One line of `limactl list --json`. */
export interface LimaInstance {
  name: string;
  status: string;
  dir: string;
  cpus: number;
  /** bytes */
  memory: number;
  /** bytes */
  disk: number;
  sshLocalPort: number;
  hostAgentPID?: number;
  driverPID?: number;
}

function num(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : 0;
}

/** Parses `limactl list --json` output: one JSON object per line. */
export function parseLimaList(stdout: string): LimaInstance[] {
  const out: LimaInstance[] = [];
  for (const line of stdout.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    const o = parseJson(t) as Record<string, unknown>;
    const inst: LimaInstance = {
      name: String(o.name),
      status: String(o.status),
      dir: String(o.dir ?? ''),
      cpus: num(o.cpus),
      memory: num(o.memory),
      disk: num(o.disk),
      sshLocalPort: num(o.sshLocalPort),
    };
    if (o.hostAgentPID !== undefined) inst.hostAgentPID = num(o.hostAgentPID);
    if (o.driverPID !== undefined) inst.driverPID = num(o.driverPID);
    out.push(inst);
  }
  return out;
}

/** The limactl CLI, with its own LIMA_HOME and a timeout per command; failures carry limactl's stderr. */
export class Limactl {
  constructor(
    readonly path: string,
    readonly limaHome: string,
    private readonly timeouts: LimactlTimeouts,
    private readonly log: Logger = silentLogger,
    /** Runs limactl (and so its host agents and QEMU) as this unprivileged user. */
    private readonly runAs?: { uid: number; gid: number; home: string },
  ) {}

  env(): NodeJS.ProcessEnv {
    return { ...process.env, LIMA_HOME: this.limaHome, ...(this.runAs ? { HOME: this.runAs.home, USER: undefined, LOGNAME: undefined } : {}) };
  }

  private ids(): { uid?: number; gid?: number } {
    return this.runAs ? { uid: this.runAs.uid, gid: this.runAs.gid } : {};
  }

  async run(args: string[], timeoutMs: number, signal?: AbortSignal): Promise<string> {
    this.log.debug('limactl', { args });
    try {
      const r = await execa(this.path, args, {
        env: this.env(),
        extendEnv: false,
        timeout: timeoutMs,
        ...(signal ? { cancelSignal: signal } : {}),
        stdin: 'ignore',
        reject: true,
        forceKillAfterDelay: 5000,
        ...this.ids(),
      });
      return r.stdout;
    } catch (err) {
      if (signal?.aborted) throw abortError(signal);
      const e = err as { stderr?: string; exitCode?: number; timedOut?: boolean; code?: string; shortMessage?: string };
      const stderr = (e.stderr ?? '').trim();
      const what = e.timedOut ? `timed out after ${timeoutMs} ms` : e.code === 'ENOENT' ? 'not found' : `exited with ${e.exitCode}`;
      throw new LimaError(VmErrorCodes.LIMACTL_FAILED, `limactl ${args[0]} ${what}${stderr ? `: ${stderr}` : ''}`, {
        cause: err,
        details: { args, exit_code: e.exitCode, stderr, timed_out: e.timedOut === true },
      });
    }
  }

  create(name: string, templatePath: string, signal?: AbortSignal): Promise<string> {
    return this.run(['create', `--name=${name}`, '--tty=false', templatePath], this.timeouts.create, signal);
  }

  start(name: string, signal?: AbortSignal): Promise<string> {
    return this.run(['start', '--tty=false', name], this.timeouts.start, signal);
  }

  stop(name: string, signal?: AbortSignal): Promise<string> {
    return this.run(['stop', name], this.timeouts.stop, signal);
  }

  delete(name: string, signal?: AbortSignal): Promise<string> {
    return this.run(['delete', '--force', name], this.timeouts.delete, signal);
  }

  async list(signal?: AbortSignal): Promise<LimaInstance[]> {
    return parseLimaList(await this.run(['list', '--json'], this.timeouts.list, signal));
  }

  /** `limactl shell --workdir=/ NAME sh -c COMMAND`, output capped, the process tree killed at the timeout. */
  shell(name: string, command: string, timeoutMs: number, signal?: AbortSignal): Promise<ExecResult> {
    return runCapped(this.path, ['shell', '--workdir=/', name, 'sh', '-c', command], {
      timeoutMs,
      signal,
      env: this.env(),
      ...this.ids(),
    });
  }
}
