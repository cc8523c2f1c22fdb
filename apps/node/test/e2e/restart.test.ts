import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { leaseCost, leaseEmission, waitUntil } from '@xe/core-types';
import type { KeyPair } from '@xe/crypto';
import { createVmManager, vmName } from '@xe/lima-provider';
import { processAlive, requestLease, runCli, TestNet } from '../support/harness.js';

let net: TestNet;
let access: KeyPair;
let keyFile: string;

beforeAll(async () => {
  net = await TestNet.create();
  ({ key: access, file: keyFile } = net.accessKey());
  await net.startAll();
});

afterAll(async () => {
  await net?.stop();
});


describe('provider restart', () => {
  it('kill -9 of the provider during a lease: the VM is adopted, ssh still works, the lease settles on time', async () => {
    const consumer = net.address(2);
    const provider = net.address(1);
    await net.waitMarket();
    const cBefore = await net.balances(2, consumer);
    const pBefore = await net.balances(2, provider);

    const req = { vcpus: 1, memory_mb: 256, disk_gb: 1, duration: 25, access_pub_key: access.pubKeyHex };
    const res = await requestLease(net, 2, req);
    expect(res.status).toBe(200);
    const hash = String(res.body.lease_hash);
    const vms = createVmManager({ backend: 'sandbox', dataDir: join(net.info.nodes[1]!.data_dir, 'vms') });
    const before = await vms.details(hash);
    expect(before?.status).toBe('running');

    await net.kill(1, 'SIGKILL');
    // The paid VM outlives its provider process.
    for (const pid of before!.pids) expect(processAlive(pid)).toBe(true);

    await net.start(1);
    const after = await vms.details(hash);
    expect(after?.status).toBe('running');
    expect(after?.pids).toEqual(before?.pids);
    expect(net.log(1)).toMatch(/VMs reconciled.*"adopted":1/);

    // ssh through the consumer's node reaches the adopted VM
    await waitUntil(
      async () => {
        const ssh = await runCli(['ssh', '-i', keyFile, hash, '--node', net.url(2), '--', 'hostname']);
        return ssh.code === 0 && ssh.stdout.trim() === vmName(hash);
      },
      { timeoutMs: 30_000, what: 'ssh after the provider restart', intervalMs: 1000 },
    );

    // settles on time: the settle's attested time is within the grace period after expiry
    for (const i of [0, 1, 2]) {
      await waitUntil(async () => (await net.client(i).getLease(hash)).state === 'settled', { timeoutMs: 90_000, what: `settled on node ${i}`, intervalMs: 500 });
    }
    const cost = leaseCost({ ...req, multiplier_milli: 1000 });
    const emission = leaseEmission(cost, 2000n);
    for (const i of [0, 1, 2]) {
      await waitUntil(async () => (await net.balances(i, provider)).XE === pBefore.XE + emission, { timeoutMs: 20_000, what: `emission on node ${i}` });
      expect(await net.balances(i, consumer)).toEqual({ XE: cBefore.XE, XUSD: cBefore.XUSD - cost });
      expect(await net.balances(i, provider)).toEqual({ XE: pBefore.XE + emission, XUSD: pBefore.XUSD });
    }
    const lease = await net.client(0).getLease(hash);
    const settleBlock = await net.client(0).getAccount(provider);
    expect(settleBlock.frontier).toMatch(/^[0-9a-f]{64}$/);
    // expiry = start + duration; the settle came within the grace (60 s on the devnet)
    const expiry = lease.start_time + BigInt(req.duration) * 1_000_000_000n;
    expect(BigInt(Date.now()) * 1_000_000n).toBeLessThan(expiry + 60_000_000_000n);
    await waitUntil(async () => (await vms.details(hash)) === undefined, { timeoutMs: 20_000, what: 'VM removed after settle' });
  });
});
