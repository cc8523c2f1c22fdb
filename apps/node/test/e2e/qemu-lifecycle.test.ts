import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { leaseCost, leaseEmission, waitUntil } from '@xe/core-types';
import type { KeyPair } from '@xe/crypto';
import { QemuVmManager, vmName } from '@xe/lima-provider';
import { noProcessMentions, processAlive, requestLease, runCli, TestNet } from '../support/harness.js';

/**
 * The lease lifecycle on a devnet whose provider runs `--vm-backend qemu`: each lease is a
 * real VM (TCG here) with its own kernel. Needs QEMU and the guest image
 * (packages/lima-provider/scripts/install-qemu.sh, run by scripts/bootstrap.sh).
 */
let net: TestNet;
let access: KeyPair;
let keyFile: string;

beforeAll(async () => {
  net = await TestNet.create({ vmBackend: 'qemu' });
  ({ key: access, file: keyFile } = net.accessKey());
  await net.startAll();
}, 120_000);

afterAll(async () => {
  await net?.stop();
}, 60_000);

describe('a lease on a QEMU provider', () => {
  it('is accepted, runs its own kernel, is reachable by exec and by ssh through the tunnel, then settles and the VM is gone', async () => {
    const consumer = net.address(2);
    const provider = net.address(1);
    await net.waitMarket();
    const cBefore = await net.balances(2, consumer);
    const pBefore = await net.balances(2, provider);

    const req = { vcpus: 1, memory_mb: 256, disk_gb: 1, duration: 40, access_pub_key: access.pubKeyHex };
    const res = await requestLease(net, 2, req);
    expect(res.status).toBe(200);
    const hash = String(res.body.lease_hash);
    for (const i of [1, 2]) {
      await waitUntil(async () => {
        const r = await fetch(`${net.url(i)}/leases/${hash}`);
        return r.ok && JSON.parse(await r.text()).state === 'accepted';
      }, { timeoutMs: 60_000, what: `accepted lease on node ${i}` });
    }

    // The VM object on the provider's node carries the VM's own host key fingerprint.
    const vm = await net.client(1).getVm(hash);
    expect(vm.status).toBe('running');
    expect(String(vm.host_key_fingerprint)).toMatch(/^SHA256:/);
    expect(vm.limits_not_enforced).toBeUndefined();

    // exec: the guest's kernel, not the host's.
    const vms = new QemuVmManager({ dataDir: join(net.info.nodes[1]!.data_dir, 'vms') });
    const exec = await net.client(1).exec(hash, { command: 'uname -a' });
    expect(exec.exit_code).toBe(0);
    expect(exec.stdout).toMatch(new RegExp(`^Linux ${vmName(hash)} ${vms.image.kernelVersion.replace(/[.+]/g, '\\$&')} `));

    // ssh with the lease key through the consumer node's tunnel (consumer → libp2p → provider → the VM's sshd).
    const ssh = await runCli(['ssh', '-i', keyFile, hash, '--node', net.url(2), '--', 'hostname']);
    expect(ssh.stderr).toBe('');
    expect(ssh.stdout.trim()).toBe(vmName(hash));
    expect(ssh.code).toBe(0);

    const details = await vms.details(hash);
    expect(details?.status).toBe('running');

    // After the duration: settled, money moved, the VM and its QEMU process are gone.
    for (const i of [1, 2]) {
      await waitUntil(async () => {
        const l = await net.client(i).getLease(hash);
        return l.state === 'settled' && l.settled === true;
      }, { timeoutMs: 120_000, what: `settled lease on node ${i}`, intervalMs: 500 });
    }
    const cost = leaseCost({ ...req, multiplier_milli: 1000 });
    const emission = leaseEmission(cost, 2000n);
    await waitUntil(async () => (await net.balances(2, provider)).XE === pBefore.XE + emission, { timeoutMs: 20_000, what: 'provider emission' });
    expect(await net.balances(2, consumer)).toEqual({ XE: cBefore.XE, XUSD: cBefore.XUSD - cost });
    await waitUntil(async () => (await fetch(`${net.url(1)}/vms/${hash}`)).status === 404, { timeoutMs: 30_000, what: 'VM removed' });
    for (const pid of details!.pids) expect(processAlive(pid)).toBe(false);
    expect(noProcessMentions(vmName(hash))).toBe(true);
  }, 300_000);
});
