/// <reference lib="dom" />
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { XeEvent } from '@xe/client';
import type { KeyPair } from '@xe/crypto';
import { type Browser, chromium, type Page } from 'playwright-core';
import { TestNet } from '../support/harness.js';

/**
 * The web console in Debian's chromium against a devnet of three `xe-node start` processes
 * (0 timekeeper, 1 provider with sandbox VMs, 2 consumer), and GET /events beside it.
 * Screenshots go to `.test-results/console/`.
 */
const SHOTS = fileURLToPath(new URL('../../.test-results/console/', import.meta.url));
const UI_DIR = fileURLToPath(new URL('../../dist/ui/', import.meta.url));
const CHROMIUM = process.env.XE_CHROMIUM ?? '/usr/bin/chromium';

let net: TestNet;
let access: KeyPair;
let browser: Browser;
/** the lease the form requested */
let leaseHash: string;

interface Seen {
  event: string;
  id: string | undefined;
  data: Record<string, unknown>;
}

/** Every event node 2 streams from the start of the test, through @xe/client's iterator. */
const stream: Seen[] = [];
const streamStop = new AbortController();
let streaming: Promise<void>;
let streamError: unknown;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  net = await TestNet.create();
  access = net.accessKey().key;
  await net.startAll();
  streaming = (async () => {
    try {
      for await (const e of net.client(2).events({ signal: streamStop.signal })) stream.push({ event: e.event, id: e.id, data: e.data as Record<string, unknown> });
    } catch (err) {
      if (!streamStop.signal.aborted) streamError = err;
    }
  })();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless=new', '--no-sandbox'] });
});

afterAll(async () => {
  streamStop.abort();
  await streaming;
  await browser?.close();
  await net?.stop();
});

async function open(i: number, path: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', (err) => {
    throw err;
  });
  await page.goto(`${net.url(i)}/ui/${path}`);
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

describe('the web console', () => {
  it('is served from the built folder with its content types, gzip, an ETag and a CSP; ≤ 200 KB gzipped in all', async () => {
    const files = readdirSync(UI_DIR);
    expect(files.sort()).toEqual(['app.js', 'index.html', 'style.css']);
    const gz = files.reduce((n, f) => n + gzipSync(readFileSync(join(UI_DIR, f)), { level: 9 }).length, 0);
    expect(gz).toBeLessThanOrEqual(200 * 1024);
    console.log(`web console assets: ${gz} bytes gzipped`);

    const base = net.url(2);
    const redirect = await fetch(`${base}/ui`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/ui/');
    const index = await fetch(`${base}/ui/`);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await index.text()).toBe(readFileSync(join(UI_DIR, 'index.html'), 'utf8'));
    const js = await fetch(`${base}/ui/app.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('content-encoding')).toBe('gzip');
    expect(await js.text()).toBe(readFileSync(join(UI_DIR, 'app.js'), 'utf8')); // fetch undoes the gzip
    expect((await fetch(`${base}/ui/style.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
    const etag = js.headers.get('etag')!;
    expect((await fetch(`${base}/ui/app.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    for (const bad of ['nope.js', '..%2Fcli.js', '%2e%2e%2fpackage.json']) expect((await fetch(`${base}/ui/${bad}`)).status).toBe(404);
  });

  it('paints within 1 s and shows the node overview', async () => {
    const page = await open(2, '');
    await page.waitForSelector('.card');
    const fcp = await page.evaluate(() => performance.getEntriesByType('paint').find((e) => e.name === 'first-contentful-paint')?.startTime ?? -1);
    console.log(`first contentful paint: ${fcp.toFixed(0)} ms`);
    expect(fcp).toBeGreaterThan(0);
    expect(fcp).toBeLessThan(1000);
    expect(await page.textContent('main')).toContain(net.info.nodes[2]!.name);
    await page.waitForSelector('#live.on');
    await shot(page, 'overview');
    await page.close();
  });

  it('lists the provider with capacity bars', async () => {
    await net.waitMarket();
    const page = await open(2, '#/providers');
    await page.waitForSelector(`[data-provider="${net.address(1)}"]`);
    expect(await page.locator(`[data-provider="${net.address(1)}"] .bar`).count()).toBe(3);
    await shot(page, 'providers');
    await page.close();
  });

  it('requests a lease from the form: it appears and turns accepted without a reload (SSE), with the ssh line', async () => {
    const page = await open(2, '#/request');
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 42;
      // every state each lease row shows, in order
      const seen: Record<string, string[]> = {};
      (window as unknown as { seen: typeof seen }).seen = seen;
      new MutationObserver(() => {
        for (const row of Array.from(document.querySelectorAll('#leases [data-lease]'))) {
          const h = row.getAttribute('data-lease')!;
          const s = row.querySelector('[data-state]')?.getAttribute('data-state');
          const list = (seen[h] ??= []);
          if (s && list.at(-1) !== s) list.push(s);
        }
      }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    });
    await page.fill('#token', net.token);
    await page.fill('#duration', '25');
    await page.fill('#access_pub_key', access.pubKeyHex);
    await page.click('#request button[type=submit]');
    const done = await page.waitForSelector('#ssh-line, [role=alert]', { timeout: 60_000 });
    if ((await done.getAttribute('role')) === 'alert') throw new Error(`the request failed: ${await done.textContent()}`);
    const ssh = done;
    const line = (await ssh.textContent())!;
    leaseHash = /([0-9a-f]{64})$/.exec(line)![1]!;
    expect(line).toBe(`xe-node ssh --node ${net.url(2)} -i ./xe_lease_key ${leaseHash}`);
    await page.waitForSelector(`#leases [data-lease="${leaseHash}"] [data-state="accepted"]`);
    await shot(page, 'lease-accepted');
    const seen = await page.evaluate((h) => (window as unknown as { seen: Record<string, string[]> }).seen[h], leaseHash);
    expect(seen?.at(-1)).toBe('accepted');
    expect(await page.evaluate(() => (window as unknown as { marker: number }).marker)).toBe(42);
    await page.close();
  });

  it('runs exec on the VM page of the provider (uname), and shows the 401 message for a wrong token', async () => {
    const page = await open(1, '#/vms');
    await page.waitForSelector(`[data-vm="${leaseHash}"]`);
    await page.selectOption('#vm', leaseHash);
    await page.fill('#token', net.token);
    await page.fill('#command', 'uname -s');
    await page.click('#exec button[type=submit]');
    const out = await page.waitForSelector('#stdout');
    expect((await out.textContent())!.trim()).toBe('Linux');
    expect(await page.textContent('[data-exit]')).toBe('0');
    await shot(page, 'vm-exec');
    // the token lives in the tab only
    expect(await page.evaluate(() => [sessionStorage.getItem('xe-operator-token'), localStorage.length, document.cookie])).toEqual([net.token, 0, '']);

    await page.fill('#token', 'not-the-operator-token');
    await page.click('#exec button[type=submit]');
    const alert = await page.waitForSelector('[role=alert]');
    expect(await alert.textContent()).toMatch(/^401 Unauthorized: the operator token was refused/);
    expect(await page.locator('#stdout').count()).toBe(0);
    await shot(page, 'vm-exec-401');
    await page.close();
  });

  it('shows the lease turn settled live, and its timeline created → accepted → settled with block hashes', async () => {
    const page = await open(2, `#/lease/${leaseHash}`);
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 7;
    });
    await page.waitForSelector('#timeline li[data-step="accepted"].done a');
    await page.waitForSelector('#timeline li[data-step="settled"].done a', { timeout: 90_000 });
    expect(await page.evaluate(() => (window as unknown as { marker: number }).marker)).toBe(7);
    const steps = await page.$$eval('#timeline li', (lis) => lis.map((li) => [li.getAttribute('data-step'), li.querySelector('a')?.getAttribute('title') ?? '']));
    expect(steps[0]).toEqual(['created', leaseHash]);
    for (const [, h] of steps) expect(h).toMatch(/^[0-9a-f]{64}$/);
    await shot(page, 'lease-timeline');
    await page.close();
  });

  it('explores an account and a block', async () => {
    const page = await open(2, `#/explorer/${net.address(2)}`);
    await page.waitForSelector('#chain');
    const rows = await page.$$eval('#chain tbody tr', (trs) => trs.map((tr) => tr.children[1]!.textContent));
    expect(rows).toContain('lease');
    await page.click('#chain tbody tr:first-child td:nth-child(3) a');
    await page.waitForSelector('#block');
    expect(await page.textContent('#block h3')).toMatch(/^Block /);
    // 64-bit integers shown exactly (a block timestamp in ns is past 2^53)
    const hash = /#\/explorer\/([0-9a-f]{64})$/.exec(page.url())![1]!;
    const raw = await (await fetch(`${net.url(2)}/blocks/${hash}`)).text();
    const timestamp = /"timestamp":(\d+)/.exec(raw)![1]!;
    expect(BigInt(timestamp)).toBeGreaterThan(2n ** 53n);
    expect(await page.textContent('#block pre')).toContain(`"timestamp": ${timestamp},`);
    await shot(page, 'explorer');
    await page.close();
  });
});

describe('GET /events on the devnet', () => {
  it('carried the lease in order (created, accepted, settled) with increasing ids', () => {
    expect(streamError).toBeUndefined();
    const ids = stream.filter((e) => e.id !== undefined).map((e) => BigInt(e.id!));
    expect(ids.length).toBeGreaterThan(0);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    const states = stream.filter((e) => e.event === 'lease' && e.data.lease_hash === leaseHash).map((e) => e.data.state);
    expect(states).toEqual(['created', 'accepted', 'settled']);
    const blocks = stream.filter((e) => e.event === 'block').map((e) => e.data.type);
    expect(blocks).toEqual(expect.arrayContaining(['lease', 'lease_accept', 'lease_settle']));
  });

  it('a reconnect with Last-Event-ID gets exactly the events after it', async () => {
    const from = Math.floor(stream.length / 2);
    const after = stream.slice(from + 1);
    const got: XeEvent[] = [];
    const stop = new AbortController();
    try {
      for await (const e of net.client(2).events({ lastEventId: stream[from]!.id!, signal: stop.signal })) {
        got.push(e);
        if (got.length === after.length) break;
      }
    } finally {
      stop.abort();
    }
    expect(got.map((e) => [e.id, e.event])).toEqual(after.map((e) => [e.id, e.event]));
  });

  it('an id from before the node kept anything gets reset', async () => {
    const stop = new AbortController();
    for await (const e of net.client(2).events({ lastEventId: '1', signal: stop.signal })) {
      expect(e.event).toBe('reset');
      expect(BigInt(e.id!)).toBeGreaterThanOrEqual(BigInt(stream.at(-1)!.id!));
      break;
    }
    stop.abort();
  });
});
