import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type JsonValue, leaseCost, leaseEmission, leaseStake, parseJson, waitUntil } from '@xe/core-types';
import type { KeyPair } from '@xe/crypto';
import { createVmManager, vmName } from '@xe/lima-provider';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { checkedFetch } from '../support/contract.js';
import { noProcessMentions, processAlive, requestLease, runCli, TestNet } from '../support/harness.js';

/** Three `xe-node start` processes: 0 timekeeper, 1 provider (sandbox VMs), 2 consumer. */
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


describe('a lease across three node processes', () => {
  it('is requested, accepted everywhere, reachable by exec and ssh, then settles with exact balances', async () => {
    const consumer = net.address(2);
    const provider = net.address(1);
    await net.waitMarket();
    const cBefore = await net.balances(2, consumer);
    const pBefore = await net.balances(2, provider);

    const duration = 10;
    const req = { vcpus: 1, memory_mb: 512, disk_gb: 1, duration, access_pub_key: access.pubKeyHex };
    const res = await requestLease(net, 2, req);
    expect(res.status).toBe(200);
    const hash = String(res.body.lease_hash);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);

    const cost = leaseCost({ ...req, multiplier_milli: 1000 });
    const stake = leaseStake(cost, 5n);
    const emission = leaseEmission(cost, 2000n);

    // The same accepted lease on every node, every seed field with the seed's JSON type.
    const seen: string[] = [];
    for (const i of [0, 1, 2]) {
      await waitUntil(async () => {
        const r = await checkedFetch(`${net.url(i)}/leases/${hash}`);
        return r.ok && JSON.parse(await r.text()).state === 'accepted';
      }, { timeoutMs: 20_000, what: `accepted lease on node ${i}` });
      const text = await (await checkedFetch(`${net.url(i)}/leases/${hash}`)).text();
      seen.push(text);
      const raw = JSON.parse(text) as Record<string, unknown>;
      expect(Object.keys(raw).sort()).toEqual(
        ['access_pub_key', 'certificate_hash', 'consumer', 'cost', 'disk_gb', 'duration', 'lease_hash', 'memory_mb', 'provider', 'settled', 'stake', 'start_time', 'state', 'vcpus'].sort(),
      );
      for (const f of ['lease_hash', 'consumer', 'provider', 'access_pub_key', 'certificate_hash', 'state']) expect(typeof raw[f]).toBe('string');
      for (const f of ['vcpus', 'memory_mb', 'disk_gb', 'duration', 'cost', 'stake', 'start_time']) expect(typeof raw[f]).toBe('number');
      expect(raw.settled).toBe(false);
      const exact = parseJson(text) as Record<string, JsonValue>;
      expect(exact).toMatchObject({ lease_hash: hash, consumer, provider, vcpus: 1n, memory_mb: 512n, disk_gb: 1n, duration: 10n, access_pub_key: access.pubKeyHex, cost, stake });
      expect(exact.start_time as bigint).toBeGreaterThan(0n);
    }
    expect(new Set(seen).size).toBe(1);

    // The provider's capacity is taken.
    const providers = await net.client(2).listProviders();
    expect(providers[0]).toMatchObject({ address: provider, vcpus: 4, active_leases: 1, available_vcpus: 3, available_memory_mb: 4096 - 512, available_disk_gb: 39 });
    expect(providers[0]).toMatchObject({ account: provider, used_vcpus: 1, used_memory_mb: 512, used_disk_gb: 1, total_leases: 1 });

    // exec on the provider's node
    const exec = await net.client(1).exec(hash, { command: 'uname -a' });
    expect(exec.exit_code).toBe(0);
    expect(exec.stdout).toMatch(/^Linux /);

    // ssh with the lease key through the consumer node's tunnel (consumer → libp2p → provider → sshd)
    const ssh = await runCli(['ssh', '-i', keyFile, hash, '--node', net.url(2), '--', 'hostname']);
    expect(ssh.stderr).toBe('');
    expect(ssh.stdout.trim()).toBe(vmName(hash));
    expect(ssh.code).toBe(0);

    // The consumer's node learned the VM info from the provider's.
    await waitUntil(async () => (await checkedFetch(`${net.url(2)}/vms/${hash}`)).ok, { timeoutMs: 20_000, what: 'VM info on the consumer node' });

    const vms = createVmManager({ backend: 'sandbox', dataDir: join(net.info.nodes[1]!.data_dir, 'vms') });
    const details = await vms.details(hash);
    expect(details?.status).toBe('running');
    // The sealed sandbox listens on no port: SSH reaches it only through the tunnel.
    expect(details?.ssh_port).toBeUndefined();

    // After the duration: settled on every node, money moved exactly, the VM is gone.
    for (const i of [0, 1, 2]) {
      await waitUntil(async () => {
        const l = await net.client(i).getLease(hash);
        return l.state === 'settled' && l.settled === true;
      }, { timeoutMs: 60_000, what: `settled lease on node ${i}`, intervalMs: 500 });
    }
    for (const i of [0, 1, 2]) {
      await waitUntil(async () => (await net.balances(i, provider)).XE === pBefore.XE + emission, { timeoutMs: 20_000, what: `provider emission on node ${i}` });
      expect(await net.balances(i, consumer)).toEqual({ XE: cBefore.XE, XUSD: cBefore.XUSD - cost });
      expect(await net.balances(i, provider)).toEqual({ XE: pBefore.XE + emission, XUSD: pBefore.XUSD });
    }
    await waitUntil(async () => (await checkedFetch(`${net.url(1)}/vms/${hash}`)).status === 404, { timeoutMs: 20_000, what: 'VM removed' });
    for (const pid of details!.pids) expect(processAlive(pid)).toBe(false);
    expect(noProcessMentions(vmName(hash))).toBe(true);
  });
});

describe('GET /metrics', () => {
  it('parses as Prometheus text on every node, HELP and TYPE on every family, node, gossip and HTTP families present', async () => {
    const expected = [
      'xe_blocks_ingested_total',
      'xe_ledger_blocks',
      'xe_ledger_accounts',
      'xe_vms_running',
      'xe_peers',
      'xe_blocks_held_for_retry',
      'xe_node_info',
      'xe_gossip_messages_total',
      'xe_hello_ok_total',
      'xe_requests_served_total',
      'xe_api_http_requests_total',
      'xe_api_http_request_duration_seconds',
      'xe_api_tunnels_opened_total',
    ];
    for (const i of [0, 1, 2]) {
      const res = await fetch(`${net.url(i)}/metrics`);
      expect(res.status).toBe(200);
      const families = parsePrometheusTextFormat(await res.text());
      const names = families.map((f) => f.name);
      expect(names).toEqual(expect.arrayContaining(expected));
      expect(new Set(names).size).toBe(names.length);
      for (const f of families) expect({ family: f.name, help: f.help.length > 0, type: f.type }).toEqual({ family: f.name, help: true, type: expect.stringMatching(/^(COUNTER|GAUGE|HISTOGRAM)$/) });
    }
    // The services' counters show on the nodes that did the work.
    const names = async (i: number) => parsePrometheusTextFormat(await (await fetch(`${net.url(i)}/metrics`)).text()).map((f) => f.name);
    expect(await names(1)).toEqual(expect.arrayContaining(['xe_offers_sent_total', 'xe_leases_accepted_total', 'xe_leases_settled_total']));
    expect(await names(2)).toEqual(expect.arrayContaining(['xe_leases_requested_total']));
  });
});
