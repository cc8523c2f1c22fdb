// The xe-node web console: preact + htm, bundled by scripts/build-ui.mjs into dist/ui.
import htm from 'htm';
import { h, render } from 'preact';
import { useEffect, useState } from 'preact/hooks';

const html = htm.bind(h);
const TOKEN_KEY = 'xe-operator-token';
const MAX_BLOCKS = 50;
const MAX_LEASES = 500;

// ---- JSON: 64-bit integers stay exact (BigInt past 2^53, from the number's own text)

const exact = (_k, v, ctx) => (typeof v === 'number' && !Number.isSafeInteger(v) && Number.isInteger(v) && ctx?.source && /^-?\d+$/.test(ctx.source) ? BigInt(ctx.source) : v);
const parseJson = (text) => JSON.parse(text, exact);
const showJson = (v) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? (JSON.rawJSON ? JSON.rawJSON(String(x)) : String(x)) : x), 2);

// ---- HTTP

class HttpError extends Error {
  constructor(status, body) {
    super(`${status}${body?.error ? `: ${body.error}` : ''}${body?.code ? ` (${body.code})` : ''}`);
    this.status = status;
    this.body = body;
  }
}

async function api(path, { method = 'GET', body, token } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json;
  try {
    json = text === '' ? undefined : parseJson(text);
  } catch {
    json = undefined;
  }
  if (!r.ok) throw new HttpError(r.status, json);
  return json;
}

function useApi(path, deps = []) {
  const [state, set] = useState({ data: undefined, error: undefined, loading: true });
  useEffect(() => {
    let live = true;
    set((s) => ({ ...s, loading: true }));
    api(path).then(
      (data) => live && set({ data, error: undefined, loading: false }),
      (error) => live && set({ data: undefined, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [path, ...deps]);
  return state;
}

// ---- live state from GET /events

const listeners = new Set();
const live = { connected: false, leases: new Map(), blocks: [], vms: new Map(), lastId: undefined };

function notify() {
  for (const fn of listeners) fn({ ...live });
}

function connectEvents() {
  const es = new EventSource('../events');
  es.onopen = () => {
    live.connected = true;
    notify();
  };
  es.onerror = () => {
    live.connected = false;
    notify();
  };
  const on = (name, fn) =>
    es.addEventListener(name, (e) => {
      live.lastId = e.lastEventId;
      fn(parseJson(e.data));
      notify();
    });
  on('lease', (l) => {
    live.leases.set(l.lease_hash, l);
    if (live.leases.size > MAX_LEASES) live.leases.delete(live.leases.keys().next().value);
  });
  on('block', (b) => {
    live.blocks = [b, ...live.blocks].slice(0, MAX_BLOCKS);
  });
  on('confirmed', (c) => {
    live.blocks = live.blocks.map((b) => (b.hash === c.hash ? { ...b, confirmed: true } : b));
  });
  on('vm', (v) => live.vms.set(v.lease_hash, v));
  on('reset', () => undefined);
  on('overflow', () => undefined);
}

function useLive() {
  const [s, set] = useState({ ...live });
  useEffect(() => {
    listeners.add(set);
    return () => listeners.delete(set);
  }, []);
  return s;
}

// ---- small parts

const short = (h) => (typeof h === 'string' && h.length > 20 ? `${h.slice(0, 10)}…${h.slice(-6)}` : String(h ?? ''));
const Hash = ({ v, to }) => html`<a class="mono" title=${v} href=${to ?? `#/explorer/${v}`}>${short(v)}</a>`;
const State = ({ s }) => html`<span class=${`state ${s}`} data-state=${s}>${s}</span>`;
const Err = ({ e }) => (e ? html`<p class="err" role="alert">${e.message ?? String(e)}</p>` : null);
const time = (ns) => (ns ? new Date(Number(ns) / 1e6).toISOString().replace('T', ' ').slice(0, 19) : '—');
const xusd = (u) => `${(Number(u) / 1e6).toFixed(6)} XUSD`;

function Bar({ used, total, label }) {
  const pct = total > 0 ? Math.min(100, Math.round((used / total) * 100)) : 0;
  return html`<div title=${`${used} / ${total} ${label}`}>
    <div class="bar"><i style=${`width:${pct}%`}></i></div>
    <span class="dim">${used} / ${total} ${label}</span>
  </div>`;
}

// ---- pages

function useTick(ms) {
  const [n, set] = useState(0);
  useEffect(() => {
    const t = setInterval(() => set((x) => x + 1), ms);
    return () => clearInterval(t);
  }, [ms]);
  return n;
}

function Overview() {
  const tick = useTick(5000);
  const node = useApi('../node', [tick]);
  const ready = useApi('../ready', [tick]);
  const recent = useApi('../blocks/recent?limit=20');
  const live = useLive().blocks;
  const seen = new Set(live.map((b) => b.hash));
  const blocks = [...live, ...(recent.data ?? []).filter((b) => !seen.has(b.hash))].slice(0, MAX_BLOCKS);
  const n = node.data;
  return html`<section>
    <h2>Node</h2>
    <${Err} e=${node.error} />
    ${n &&
    html`<div class="cards">
      <div class="card"><h3>Node</h3><div class="big">${n.name}</div><div class="dim">${n.version} · ${n.network_id}</div><div>roles: ${n.roles.join(', ')}</div></div>
      <div class="card"><h3>Account</h3><${Hash} v=${n.address} /><div class="dim mono">peer ${short(n.peer_id)}</div></div>
      <div class="card"><h3>Peers</h3><div class="big" data-peers>${n.peers}</div><div class="dim">${(n.multiaddrs ?? []).length} listen addresses</div></div>
      <div class="card"><h3>Ledger</h3><div>${n.counts.blocks} blocks · ${n.counts.accounts} accounts</div><div>${n.counts.leases} leases · ${n.counts.vms} VMs</div></div>
      ${n.finality &&
      html`<div class="card"><h3>Finality</h3>
        <div>quorum ${n.finality.quorum_pct}% · ${n.finality.online_representatives}/${n.finality.representatives} representatives online</div>
        <div>${n.finality.confirmed_blocks} confirmed · ${n.finality.unconfirmed_blocks} unconfirmed</div>
        <div class="dim">${n.finality.open_conflicts} open conflicts</div></div>`}
      <div class="card"><h3>Timekeepers</h3>
        ${ready.data || ready.error?.body
          ? html`<div class=${(ready.data ?? ready.error.body).timekeepers_reachable ? 'ok' : 'err'}>${(ready.data ?? ready.error.body).timekeepers_reachable ? 'reachable' : 'unreachable'}</div>
              <div class="dim">synced ${String((ready.data ?? ready.error.body).synced)} · peered ${String((ready.data ?? ready.error.body).peered)}</div>`
          : html`<div class="dim">…</div>`}
        <div class="dim">${n.roles.includes('timekeeper') ? 'this node signs attestations' : ''}</div></div>
      ${n.certificate && html`<div class="card"><h3>Certificate</h3><${Hash} v=${n.certificate.hash} /><div class=${n.certificate.valid ? 'ok' : 'err'}>${n.certificate.valid ? 'valid' : 'expired'} until ${time(n.certificate.expires_at)}</div></div>`}
    </div>`}
    <h2 style="margin-top:1.2rem">Newest blocks <span class="live">(live)</span></h2>
    <table><thead><tr><th>type</th><th>hash</th><th>account</th><th>confirmed</th></tr></thead><tbody>
      ${blocks.length === 0 && html`<tr><td colspan="4" class="dim">waiting for blocks…</td></tr>`}
      ${blocks.map((b) => html`<tr key=${b.hash}><td>${b.type}</td><td><${Hash} v=${b.hash} /></td><td><${Hash} v=${b.account} /></td><td>${b.confirmed ? '✓' : '…'}</td></tr>`)}
    </tbody></table>
  </section>`;
}

function Providers() {
  const tick = useTick(5000);
  const p = useApi('../providers', [tick]);
  return html`<section>
    <h2>Providers</h2>
    <${Err} e=${p.error} />
    ${p.data && p.data.length === 0 && html`<p class="dim">no provider adverts yet</p>`}
    ${p.data &&
    html`<table id="providers"><thead><tr><th>provider</th><th>vCPUs</th><th>memory</th><th>disk</th><th>leases</th></tr></thead><tbody>
      ${p.data.map(
        (x) => html`<tr key=${x.address} data-provider=${x.address}>
          <td><${Hash} v=${x.address} /></td>
          <td><${Bar} used=${x.vcpus - x.available_vcpus} total=${x.vcpus} label="vCPU" /></td>
          <td><${Bar} used=${x.memory_mb - x.available_memory_mb} total=${x.memory_mb} label="MB" /></td>
          <td><${Bar} used=${x.disk_gb - x.available_disk_gb} total=${x.disk_gb} label="GB" /></td>
          <td>${x.active_leases} active · ${x.total_leases ?? 0} total</td>
        </tr>`,
      )}
    </tbody></table>`}
  </section>`;
}

function LeaseTable({ filter }) {
  const list = useApi('../leases?limit=200');
  const { leases } = useLive();
  const merged = new Map();
  for (const l of list.data ?? []) merged.set(l.lease_hash, l);
  for (const [k, l] of leases) merged.set(k, l);
  const rows = [...merged.values()].filter(filter ?? (() => true)).reverse();
  return html`<div>
    <${Err} e=${list.error} />
    <table id="leases"><thead><tr><th>lease</th><th>state</th><th>provider</th><th>resources</th><th>duration</th><th>cost</th></tr></thead><tbody>
      ${rows.length === 0 && html`<tr><td colspan="6" class="dim">no leases</td></tr>`}
      ${rows.map(
        (l) => html`<tr key=${l.lease_hash} data-lease=${l.lease_hash}>
          <td><${Hash} v=${l.lease_hash} to=${`#/lease/${l.lease_hash}`} /></td>
          <td><${State} s=${l.state} /></td>
          <td><${Hash} v=${l.provider} /></td>
          <td>${l.vcpus} vCPU · ${l.memory_mb} MB · ${l.disk_gb} GB</td>
          <td>${l.duration} s</td>
          <td>${xusd(l.cost)}</td>
        </tr>`,
      )}
    </tbody></table>
  </div>`;
}

function Leases() {
  return html`<section><h2>Leases</h2><${LeaseTable} /></section>`;
}

const STEPS = [
  ['created', ['lease']],
  ['accepted', ['lease_accept']],
  ['settled', ['lease_settle', 'lease_force_settle', 'lease_cancel']],
];

function LeaseDetail({ hash }) {
  const one = useApi(`../leases/${hash}`);
  const { leases, blocks } = useLive();
  const lease = leases.get(hash) ?? one.data;
  const [related, setRelated] = useState([]);
  const state = lease?.state;
  useEffect(() => {
    if (!lease) return;
    let on = true;
    Promise.all(
      [...new Set([lease.consumer, lease.provider])].map((a) => api(`../accounts/${a}/chain?limit=100`).then((c) => c.blocks, () => [])),
    ).then((lists) => on && setRelated(lists.flat()));
    return () => {
      on = false;
    };
  }, [hash, state, lease?.provider]);
  // the lease block, and the blocks naming it (or naming one of those) as their source
  const all = new Map();
  const pool = [...related, ...blocks];
  for (const b of pool) if (b.hash === hash) all.set(b.hash, b);
  for (let round = 0; round < 2; round++) for (const b of pool) if (all.has(b.source)) all.set(b.hash, b);
  const byType = (types) => [...all.values()].find((b) => types.includes(b.type));
  const reached = (i) => (i === 0 ? !!lease : i === 1 ? !!byType(STEPS[1][1]) || ['accepted', 'settled'].includes(state) : !!lease?.settled);
  return html`<section>
    <h2>Lease <span class="mono">${short(hash)}</span> ${state && html`<${State} s=${state} />`}</h2>
    <${Err} e=${one.error} />
    ${lease &&
    html`<ol class="timeline" id="timeline">
        ${STEPS.map(([name, types], i) => {
          const b = byType(types);
          const label = i === 2 && lease.settled ? state : name;
          return html`<li class=${reached(i) ? 'done' : ''} data-step=${name}>
            <b>${label}</b> ${b ? html`<${Hash} v=${b.hash} /> <span class="dim">${b.type} · ${time(b.timestamp)}</span>` : reached(i) ? '' : html`<span class="dim">waiting</span>`}
          </li>`;
        })}
      </ol>
      <table><tbody>
        <tr><th>consumer</th><td><${Hash} v=${lease.consumer} /></td></tr>
        <tr><th>provider</th><td><${Hash} v=${lease.provider} /></td></tr>
        <tr><th>resources</th><td>${lease.vcpus} vCPU · ${lease.memory_mb} MB · ${lease.disk_gb} GB for ${lease.duration} s</td></tr>
        <tr><th>cost / stake</th><td>${xusd(lease.cost)} / ${xusd(lease.stake)}</td></tr>
        <tr><th>started</th><td>${time(lease.start_time)}</td></tr>
        <tr><th>ssh</th><td><code>${sshLine(hash)}</code></td></tr>
      </tbody></table>`}
  </section>`;
}

function sshLine(hash) {
  return `xe-node ssh --node ${location.origin} -i ./xe_lease_key ${hash}`;
}

function Vms({ token }) {
  const list = useApi('../vms');
  const { vms } = useLive();
  const merged = new Map();
  for (const v of list.data ?? []) merged.set(v.lease_hash, v);
  for (const [k, v] of vms) merged.set(k, { ...merged.get(k), ...v });
  const [target, setTarget] = useState('');
  const [command, setCommand] = useState('uname -a');
  const [out, setOut] = useState(undefined);
  const [err, setErr] = useState(undefined);
  const rows = [...merged.values()];
  const chosen = target || rows[0]?.lease_hash || '';
  const run = async (e) => {
    e.preventDefault();
    setOut(undefined);
    setErr(undefined);
    try {
      setOut(await api(`../vms/${chosen}/exec`, { method: 'POST', body: { command }, token }));
    } catch (x) {
      setErr(x.status === 401 ? new Error(`401 Unauthorized: the operator token was refused${x.body?.error ? ` (${x.body.error})` : ''}`) : x);
    }
  };
  return html`<section>
    <h2>VMs on this node</h2>
    <${Err} e=${list.error} />
    <table id="vms"><thead><tr><th>lease</th><th>status</th><th>resources</th><th>created</th></tr></thead><tbody>
      ${rows.length === 0 && html`<tr><td colspan="4" class="dim">no VMs</td></tr>`}
      ${rows.map(
        (v) => html`<tr key=${v.lease_hash} data-vm=${v.lease_hash}><td><${Hash} v=${v.lease_hash} to=${`#/lease/${v.lease_hash}`} /></td><td><${State} s=${v.status} /></td>
          <td>${v.resources ? `${v.resources.vcpus} vCPU · ${v.resources.memory_mb} MB · ${v.resources.disk_gb} GB` : ''}</td><td>${time(v.created_at)}</td></tr>`,
      )}
    </tbody></table>
    <h2 style="margin-top:1.2rem">Exec</h2>
    <form class="grid" id="exec" onSubmit=${run}>
      <label for="vm">VM</label>
      <select id="vm" value=${chosen} onChange=${(e) => setTarget(e.currentTarget.value)}>
        ${rows.map((v) => html`<option value=${v.lease_hash}>${short(v.lease_hash)} (${v.status})</option>`)}
      </select>
      <label for="command">command</label><input id="command" value=${command} onInput=${(e) => setCommand(e.currentTarget.value)} />
      <span></span><button type="submit" disabled=${!chosen}>Run</button>
    </form>
    ${!token && html`<p class="dim">exec needs the operator token (top right)</p>`}
    <${Err} e=${err} />
    ${out &&
    html`<div id="exec-result"><p>exit code <b data-exit>${out.exit_code}</b></p><pre id="stdout">${out.stdout}</pre>${out.stderr && html`<pre class="err">${out.stderr}</pre>`}</div>`}
  </section>`;
}

function Explorer({ q }) {
  const [query, setQuery] = useState(q ?? '');
  const [res, setRes] = useState(undefined);
  useEffect(() => {
    if (!q) return;
    let on = true;
    setRes({ loading: true });
    const soft = (p) => p.then((v) => v, (e) => (e.status === 404 ? undefined : Promise.reject(e)));
    Promise.all([soft(api(`../blocks/${q}`)), soft(api(`../accounts/${q}`)), soft(api(`../accounts/${q}/chain?limit=50`))]).then(
      ([block, account, chain]) => on && setRes({ block, account, chain }),
      (error) => on && setRes({ error }),
    );
    return () => {
      on = false;
    };
  }, [q]);
  const go = (e) => {
    e.preventDefault();
    location.hash = `#/explorer/${query.trim()}`;
  };
  return html`<section>
    <h2>Explorer</h2>
    <form onSubmit=${go} style="display:flex;gap:.5rem;margin-bottom:1rem">
      <input id="q" style="flex:1" placeholder="account address or block hash (64 hex)" value=${query} onInput=${(e) => setQuery(e.currentTarget.value)} />
      <button type="submit">Look up</button>
    </form>
    ${res?.loading && html`<p class="dim">…</p>`}
    <${Err} e=${res?.error} />
    ${res && !res.loading && !res.error && !res.block && !res.account && (res.chain?.total ?? 0) === 0 && html`<p class="dim">nothing known by that name</p>`}
    ${res?.block &&
    html`<div id="block"><h3>Block ${res.block.type} ${res.block.confirmed ? html`<span class="ok">confirmed</span>` : html`<span class="dim">unconfirmed</span>`}</h3>
      <p>account <${Hash} v=${res.block.account} /> · previous ${res.block.previous === '0' ? '—' : html`<${Hash} v=${res.block.previous} />`} · ${time(res.block.timestamp)}</p>
      <pre>${showJson(res.block)}</pre></div>`}
    ${res?.account &&
    html`<div id="account"><h3>Account</h3>
      <p>${Object.entries(res.account.balances ?? {}).map(([k, v]) => html`<span style="margin-right:1rem">${(Number(v) / 1e6).toFixed(6)} ${k}</span>`)}</p>
      <p class="dim">${res.account.block_count} blocks · frontier <${Hash} v=${res.account.frontier} /></p></div>`}
    ${res?.chain &&
    res.chain.total > 0 &&
    html`<h3>Chain (${res.chain.total} blocks, newest first)</h3>
      <table id="chain"><thead><tr><th>#</th><th>type</th><th>hash</th><th>time</th><th>confirmed</th></tr></thead><tbody>
        ${res.chain.blocks.map((b, i) => html`<tr key=${b.hash}><td>${res.chain.total - i}</td><td>${b.type}</td><td><${Hash} v=${b.hash} /></td><td>${time(b.timestamp)}</td><td>${b.confirmed ? '✓' : '…'}</td></tr>`)}
      </tbody></table>`}
  </section>`;
}

function RequestLease({ token }) {
  const [f, setF] = useState({ vcpus: 1, memory_mb: 512, disk_gb: 1, duration: 60, access_pub_key: '' });
  const [state, setState] = useState({});
  const field = (k, type = 'number') =>
    html`<input id=${k} name=${k} type=${type} value=${f[k]} onInput=${(e) => setF({ ...f, [k]: type === 'number' ? Number(e.currentTarget.value) : e.currentTarget.value.trim() })} />`;
  const submit = async (e) => {
    e.preventDefault();
    setState({ pending: true });
    try {
      const r = await api('../lease/request', { method: 'POST', body: f, token });
      setState({ hash: r.lease_hash });
    } catch (x) {
      setState({ error: x.status === 401 ? new Error(`401 Unauthorized: the operator token was refused${x.body?.error ? ` (${x.body.error})` : ''}`) : x });
    }
  };
  return html`<section>
    <h2>Request a lease</h2>
    <form class="grid" id="request" onSubmit=${submit}>
      <label for="vcpus">vCPUs</label>${field('vcpus')}
      <label for="memory_mb">memory (MB)</label>${field('memory_mb')}
      <label for="disk_gb">disk (GB)</label>${field('disk_gb')}
      <label for="duration">duration (s)</label>${field('duration')}
      <label for="access_pub_key">access public key</label>${field('access_pub_key', 'text')}
      <span></span><span class="dim">64 hex: <code>xe-node keys new --access --out ./xe_lease_key</code> prints it</span>
      <span></span><button type="submit" disabled=${state.pending}>Request</button>
    </form>
    ${!token && html`<p class="dim">requesting needs the operator token (top right)</p>`}
    ${state.pending && html`<p class="dim">waiting for a provider to accept…</p>`}
    <${Err} e=${state.error} />
    ${state.hash &&
    html`<div id="request-result"><p class="ok">accepted: <${Hash} v=${state.hash} to=${`#/lease/${state.hash}`} /></p>
      <p>connect with</p><pre id="ssh-line">${sshLine(state.hash)}</pre></div>`}
    <h2 style="margin-top:1.2rem">Leases (live)</h2>
    <${LeaseTable} />
  </section>`;
}

// ---- shell

const PAGES = [
  ['', 'Overview'],
  ['providers', 'Providers'],
  ['leases', 'Leases'],
  ['vms', 'VMs'],
  ['explorer', 'Explorer'],
  ['request', 'Request'],
];

function route() {
  const [page = '', arg] = location.hash.replace(/^#\/?/, '').split('/');
  return { page, arg };
}

function App() {
  const [r, setR] = useState(route());
  const [token, setToken] = useState(sessionStorage.getItem(TOKEN_KEY) ?? '');
  const { connected } = useLive();
  useEffect(() => {
    const on = () => setR(route());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  const saveToken = (v) => {
    setToken(v);
    if (v) sessionStorage.setItem(TOKEN_KEY, v);
    else sessionStorage.removeItem(TOKEN_KEY);
  };
  const body =
    r.page === 'providers'
      ? html`<${Providers} />`
      : r.page === 'leases'
        ? html`<${Leases} />`
        : r.page === 'lease'
          ? html`<${LeaseDetail} hash=${r.arg} key=${r.arg} />`
          : r.page === 'vms'
            ? html`<${Vms} token=${token} />`
            : r.page === 'explorer'
              ? html`<${Explorer} q=${r.arg} key=${r.arg ?? ''} />`
              : r.page === 'request'
                ? html`<${RequestLease} token=${token} />`
                : html`<${Overview} />`;
  return html`<div>
    <header>
      <h1>xe-node</h1>
      <nav>${PAGES.map(([p, name]) => html`<a href=${`#/${p}`} class=${r.page === p ? 'on' : ''}>${name}</a>`)}</nav>
      <span class=${connected ? 'live on' : 'live'} id="live">${connected ? 'live' : 'offline'}</span>
      <label class="token">operator token <input id="token" type="password" autocomplete="off" value=${token} onInput=${(e) => saveToken(e.currentTarget.value)} /></label>
    </header>
    <main>${body}</main>
  </div>`;
}

connectEvents();
const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
