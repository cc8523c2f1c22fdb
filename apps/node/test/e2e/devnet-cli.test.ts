import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { parseJson, waitUntil } from '@xe/core-types';
import { vmName } from '@xe/lima-provider';
import { removeDevnetVms } from '../../src/devnet.js';
import { checkedFetch } from '../support/contract.js';
import { CLI, noProcessMentions, runCli } from '../support/harness.js';

let devnet: ChildProcess | undefined;
const dir = mkdtempSync(join(tmpdir(), 'xe-devnet-'));

afterAll(async () => {
  if (devnet && devnet.exitCode === null && devnet.signalCode === null) {
    // a failed test leaves it running: stop it as an operator would, then make sure
    const exited = new Promise((r) => devnet!.once('exit', r));
    devnet.kill('SIGTERM');
    const t = setTimeout(() => devnet!.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(t);
  }
  // VMs and ready disks a killed provider could not remove (a mounted disk cannot be rm'd)
  for (const name of readdirSync(dir).filter((n) => n.endsWith('-provider'))) await removeDevnetVms('sandbox', join(dir, name, 'vms'));
  rmSync(dir, { recursive: true, force: true });
});

describe('xe-node devnet', () => {
  it('starts a network, serves the README walk-through (curl calls and xe-node ssh), and stops cleanly on SIGTERM', async () => {
    const basePort = 30010 + Math.floor(Math.random() * 200) * 10;
    let out = '';
    devnet = spawn(process.execPath, [CLI, 'devnet', '--dir', dir, '--base-port', String(basePort)], { stdio: ['ignore', 'pipe', 'pipe'] });
    devnet.stdout!.on('data', (d) => (out += d));
    devnet.stderr!.on('data', (d) => (out += d));
    await waitUntil(() => out.includes('Ctrl-C stops every node'), { timeoutMs: 90_000, what: `devnet up; output so far:\n${out}` });
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
    await waitUntil(async () => ((await (await checkedFetch(`${consumer.api}/providers`)).json()) as unknown[]).length === 1, { timeoutMs: 30_000, what: 'a provider' });
    const res = await checkedFetch(`${consumer.api}/lease/request`, {
      method: 'POST',
      headers: { authorization: `Bearer ${info.operator_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ vcpus: 1, memory_mb: 512, disk_gb: 1, duration: 60, access_pub_key: accessPub }),
    });
    expect(res.status).toBe(200);
    const { lease_hash: hash } = (await res.json()) as { lease_hash: string };
    const lease = (await (await checkedFetch(`${consumer.api}/leases/${hash}`)).json()) as { state: string };
    expect(lease.state).toBe('accepted');

    // xe-node ssh -i KEY <hash> --node $API -- hostname
    const ssh = await runCli(['ssh', '-i', keyFile, hash, '--node', consumer.api, '--', 'hostname']);
    expect(ssh.stdout.trim()).toBe(vmName(hash));
    expect(ssh.code).toBe(0);

    // the API clients of the CLI
    const list = await runCli(['lease', 'list', '--node', consumer.api, '--json']);
    expect(list.code).toBe(0);
    expect((parseJson(list.stdout) as Array<{ lease_hash: string }>).map((l) => l.lease_hash)).toContain(hash);
    const human = await runCli(['lease', 'show', hash, '--node', consumer.api]);
    expect(human.stdout).toMatch(new RegExp(`lease\\s+${hash}[\\s\\S]*state\\s+accepted`));
    const cancel = await runCli(['lease', 'cancel', hash, '--node', consumer.api], { env: { XE_OPERATOR_TOKEN: info.operator_token } });
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toMatch(/409 LEASE_NOT_CANCELLABLE: the lease is accepted/);

    const provider = info.nodes[1]!;
    const before = parseJson((await runCli(['balance', provider.address, '--node', consumer.api, '--json'])).stdout) as { balances: { XUSD: bigint } };
    const send = await runCli(['send', '--data-dir', consumer.data_dir, '--to', provider.address, '--amount', '2.5', '--node', consumer.api]);
    expect(send.stderr).toBe('');
    expect(send.stdout).toMatch(/^sent 2\.5 XUSD to /);
    // the provider's node receives it by itself
    await waitUntil(async () => {
      const b = parseJson((await runCli(['balance', provider.address, '--node', consumer.api, '--json'])).stdout) as { balances: { XUSD: bigint } };
      return b.balances.XUSD === before.balances.XUSD + 2_500_000n;
    }, { timeoutMs: 30_000, what: 'the provider received the send' });
    const bal = await runCli(['balance', '--node', provider.api]);
    expect(bal.stdout).toContain(provider.address);
    expect(bal.stdout).toMatch(/XUSD\s+\d+/);

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
