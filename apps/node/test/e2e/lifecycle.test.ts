import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type JsonValue, leaseCost, leaseEmission, leaseStake, parseJson, waitUntil } from '@xe/core-types';
import { generateKeyPair, type KeyPair, sshAuthorizedKeyLine, verifyVmHostKey } from '@xe/crypto';
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

/**
 * An entry node that lies: a proxy on 127.0.0.1 in front of the consumer's node that
 * passes every GET through and rewrites the answers `rewrite` picks; it counts what else
 * it is asked (a tunnel open would show there).
 */
async function lyingNode(upstream: string, rewrite: (path: string, body: string) => string): Promise<{ url: string; other: string[]; close: () => Promise<void> }> {
  const other: string[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'GET') {
        other.push(`${req.method} ${req.url}`);
        res.writeHead(502).end();
        return;
      }
      const up = await fetch(`${upstream}${req.url}`);
      const body = rewrite(req.url ?? '', await up.text());
      res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' }).end(body);
    })().catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, other, close: () => new Promise((r) => server.close(() => r())) };
}

describe("xe-node ssh pins the VM's host key", () => {
  it('connects to the key the provider signed; refuses a VM showing another key, and a node serving a forged key, lease or none', async () => {
    await net.waitMarket();
    const res = await requestLease(net, 2, { vcpus: 1, memory_mb: 512, disk_gb: 1, duration: 120, access_pub_key: access.pubKeyHex });
    expect(res.status).toBe(200);
    const hash = String(res.body.lease_hash);

    // The pinned connection works through the consumer's node.
    const ok = await runCli(['ssh', '-i', keyFile, hash, '--node', net.url(2), '--', 'cat /etc/ssh/ssh_host_ed25519_key.pub']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    // The consumer's node serves the key the provider's node reports, with the provider's signature.
    const atConsumer = await net.client(2).getVm(hash);
    const atProvider = await net.client(1).getVm(hash);
    expect(atConsumer.host_public_key).toMatch(/^ssh-ed25519 [A-Za-z0-9+/]+=*$/);
    expect(atProvider.host_public_key).toBe(atConsumer.host_public_key);
    expect(ok.stdout.startsWith(`${atConsumer.host_public_key!} `)).toBe(true);
    const provider = (await net.client(2).getCertificate(net.address(1))).provider_pub_key;
    expect(verifyVmHostKey(hash, atConsumer.host_public_key!, atConsumer.host_key_signature!, provider)).toBe(true);
    expect(atProvider.host_key_signature).toBe(atConsumer.host_key_signature);

    // A node that swaps the key (keeping the signature), drops it, or forges the lease's
    // provider: refused before any connection, nothing but GETs reach the node.
    const other = sshAuthorizedKeyLine(generateKeyPair().pubKeyHex, '');
    const lies: Array<[string, (path: string, body: string) => string, RegExp]> = [
      ['another key', (p, b) => (p === `/vms/${hash}` ? b.replace(/"host_public_key":"[^"]*"/, `"host_public_key":"${other}"`) : b), /VM_HOST_KEY_INVALID: the VM's host key is not signed by the lease's provider/],
      ['no key', (p, b) => (p === `/vms/${hash}` ? b.replace(/,?"host_(public_key|key_signature)":"[^"]*"/g, '') : b), /VM_HOST_KEY_MISSING: /],
      ['a forged lease', (p, b) => (p === `/blocks/${hash}` ? b.replace(/"destination":"[0-9a-f]{64}"/, `"destination":"${'ab'.repeat(32)}"`) : b), /VM_HOST_KEY_INVALID: the lease block the node returned does not hash/],
    ];
    for (const [what, rewrite, error] of lies) {
      const liar = await lyingNode(net.url(2), rewrite);
      try {
        const r = await runCli(['ssh', '-i', keyFile, hash, '--node', liar.url, '--', 'true']);
        expect({ what, code: r.code, stderr: r.stderr }).toEqual({ what, code: 1, stderr: expect.stringMatching(error) });
        expect(liar.other).toEqual([]);
      } finally {
        await liar.close();
      }
    }

    // The VM shows another host key than the one signed (as an impersonator would): ssh refuses it.
    const rekey = await net.client(1).exec(hash, { command: "rm -f /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub && ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key" });
    expect(rekey).toMatchObject({ exit_code: 0 });
    const refused = await runCli(['ssh', '-i', keyFile, hash, '--node', net.url(2), '--', 'echo reached']);
    expect(refused.code).toBe(255);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/Host key verification failed/);
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
