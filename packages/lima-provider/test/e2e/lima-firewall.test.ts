import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { allowLoopbackPort, checkLimaFirewall, denyLoopbackPort, installLimaFirewall, removeLimaFirewall } from '../../src/lima/firewall.js';
import { runCapped } from '../../src/proc.js';

// The host firewall that fences Lima's user-mode network, against the real iptables, in a
// network namespace this test makes (only lo, with one extra address: no traffic leaves it).
// `nobody` (65534) stands in for the dedicated Lima user.
const NS = `xe-fw-${randomBytes(3).toString('hex')}`;
const UID = 65534;
const HOST_ADDR = '10.213.7.1'; // the namespace's "own address" (on its lo)
const inNs = ['ip', 'netns', 'exec', NS];
const fw = { uid: UID, iptables: [...inNs, 'iptables'], ip6tables: [...inNs, 'ip6tables'], hostAddresses: [HOST_ADDR] };

/** Exit 0 when a TCP connection to host:port succeeds, from inside the namespace, as root or as the fenced uid. */
async function connects(host: string, port: number, asUid?: number): Promise<boolean> {
  const probe = `exec 3<>/dev/tcp/${host}/${port}`;
  const priv = asUid === undefined ? [] : ['setpriv', `--reuid=${asUid}`, `--regid=${asUid}`, '--clear-groups', '--'];
  const r = await runCapped(inNs[0]!, [...inNs.slice(1), ...priv, 'timeout', '3', 'bash', '-c', probe], { timeoutMs: 10_000 });
  return r.exit_code === 0;
}

describe('Lima host firewall (iptables owner match, in a test namespace)', () => {
  let listener: ChildProcess | undefined;
  const port = 20000 + (randomBytes(2).readUInt16BE() % 20000);
  const other = port + 1;

  beforeAll(async () => {
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);
    execFileSync('ip', ['netns', 'exec', NS, 'ip', 'addr', 'add', `${HOST_ADDR}/32`, 'dev', 'lo']);
    // Listeners inside the namespace: on every address, two ports (one for the allow rule).
    const script = `const net=require('net');let n=0;for(const p of [${port},${other}])net.createServer(s=>s.destroy()).listen(p,'0.0.0.0',()=>{if(++n===2)console.log('up')})`;
    listener = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      listener!.stdout!.on('data', (d: Buffer) => d.toString().includes('up') && resolve());
      listener!.once('exit', (code) => reject(new Error(`listener exited ${code}`)));
    });
  }, 30_000);

  afterAll(async () => {
    await removeLimaFirewall(fw).catch(() => undefined);
    listener?.kill('SIGKILL');
    execFileSync('ip', ['netns', 'del', NS]);
  });

  it('without the rules the uid connects (control); with them it cannot reach loopback or the host address while root can; removal restores', async () => {
    expect(await checkLimaFirewall(fw)).toBe(false);
    expect(await connects('127.0.0.1', port, UID)).toBe(true);
    expect(await connects(HOST_ADDR, port, UID)).toBe(true);

    await installLimaFirewall(fw);
    expect(await checkLimaFirewall(fw)).toBe(true);
    await installLimaFirewall(fw); // idempotent: rebuilt, one jump
    const rules = execFileSync('ip', ['netns', 'exec', NS, 'iptables', '-S', 'OUTPUT'], { encoding: 'utf8' });
    expect(rules.split('\n').filter((l) => l.includes(`--uid-owner ${UID}`)).length).toBe(1);

    expect(await connects('127.0.0.1', port, UID)).toBe(false);
    expect(await connects('127.0.0.2', port, UID)).toBe(false);
    expect(await connects(HOST_ADDR, port, UID)).toBe(false);
    expect(await connects('127.0.0.1', port)).toBe(true); // root (the provider) is not fenced
    expect(await connects(HOST_ADDR, port)).toBe(true);

    // The instance's own SSH port can be let through, and closed again.
    await allowLoopbackPort(fw, other);
    expect(await connects('127.0.0.1', other, UID)).toBe(true);
    expect(await connects('127.0.0.1', port, UID)).toBe(false);
    await denyLoopbackPort(fw, other);
    expect(await connects('127.0.0.1', other, UID)).toBe(false);

    await removeLimaFirewall(fw);
    expect(await checkLimaFirewall(fw)).toBe(false);
    expect(execFileSync('ip', ['netns', 'exec', NS, 'iptables', '-S'], { encoding: 'utf8' })).not.toMatch(/XE-LIMA/);
    expect(execFileSync('ip', ['netns', 'exec', NS, 'ip6tables', '-S'], { encoding: 'utf8' })).not.toMatch(/XE-LIMA/);
    expect(await connects('127.0.0.1', port, UID)).toBe(true);
  }, 120_000);
});
