import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { parseJson } from '@xe/core-types';
import { vmName } from '@xe/lima-provider';
import { CLI, noProcessMentions, runCli, until } from './harness.js';

let devnet: ChildProcess | undefined;
const dir = mkdtempSync(join(tmpdir(), 'xe-devnet-'));

afterAll(async () => {
  if (devnet && devnet.exitCode === null && devnet.signalCode === null) {
    devnet.kill('SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('xe-node devnet', () => {
  it('starts a network, serves the README walk-through (curl calls and xe-node ssh), and stops cleanly on SIGTERM', async () => {
    const basePort = 22000 + Math.floor(Math.random() * 1000) * 10;
    let out = '';
    devnet = spawn(process.execPath, [CLI, 'devnet', '--dir', dir, '--base-port', String(basePort)], { stdio: ['ignore', 'pipe', 'pipe'] });
    devnet.stdout!.on('data', (d) => (out += d));
    devnet.stderr!.on('data', (d) => (out += d));
    await until(() => out.includes('Ctrl-C stops every node'), 90_000, `devnet up; output so far:\n${out}`);
    expect(out).toContain('try this:');

    const info = parseJson(readFileSync(join(dir, 'devnet.json'), 'utf8')) as {
      operator_token: string;
      network_id: string;
      nodes: Array<{ name: string; roles: string[]; api: string; p2p: string; address: string; data_dir: string }>;
    };
    expect(info.nodes.map((n) => n.roles)).toEqual([['timekeeper'], ['provider'], ['consumer']]);
    expect(info.operator_token).toMatch(/^[0-9a-f]{48}$/);
    const consumer = info.nodes[2]!;

    // `xe-node keys new --access --out FILE` prints the access_pub_key
    const keyFile = join(dir, 'lease_key');
    const keys = await runCli(['keys', 'new', '--access', '--out', keyFile]);
    expect(keys.code).toBe(0);
    const accessPub = keys.stdout.trim();
    expect(accessPub).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(`${keyFile}.pub`, 'utf8')).toMatch(/^ssh-ed25519 /);

    // curl -s $API/providers, then curl -X POST $API/lease/request -H "Authorization: Bearer $TOKEN" ...
    await until(async () => ((await (await fetch(`${consumer.api}/providers`)).json()) as unknown[]).length === 1, 30_000, 'a provider');
    const res = await fetch(`${consumer.api}/lease/request`, {
      method: 'POST',
      headers: { authorization: `Bearer ${info.operator_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ vcpus: 1, memory_mb: 512, disk_gb: 1, duration: 60, access_pub_key: accessPub }),
    });
    expect(res.status).toBe(200);
    const { lease_hash: hash } = (await res.json()) as { lease_hash: string };
    const lease = (await (await fetch(`${consumer.api}/leases/${hash}`)).json()) as { state: string };
    expect(lease.state).toBe('accepted');

    // xe-node ssh -i KEY <hash> --node $API -- hostname
    const ssh = await runCli(['ssh', '-i', keyFile, hash, '--node', consumer.api, '--', 'hostname']);
    expect(ssh.stdout.trim()).toBe(vmName(hash));
    expect(ssh.code).toBe(0);

    const pid = devnet.pid!;
    const exited = new Promise<number | null>((r) => devnet!.once('exit', (code) => r(code)));
    devnet.kill('SIGTERM');
    expect(await exited).toBe(0);
    // no node process, no VM process left behind
    expect(noProcessMentions(dir)).toBe(true);
    expect(noProcessMentions(vmName(hash))).toBe(true);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  });
});
