#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import {
  bundleToJson,
  createLogger,
  DEFAULT_POW_DIFFICULTY,
  DEVNET_LEASE_PARAMS,
  isHash,
  isHex,
  type JsonValue,
  parseJson,
  parseLeaseParams,
  stringifyJson,
  systemClock,
  validateNetworkParams,
  XeError,
} from '@xe/core-types';
import { attachPow, generateKeyPair, type KeyPair, keyPairFromSeed, signBlock } from '@xe/crypto';
import { peerIdFromPubKeyHex } from '@xe/gossip';
import { createGenesisBundle, type GenesisAllocation } from '@xe/ledger';
import { openSshPrivateKey, sshAuthorizedKeyLine, vmName } from '@xe/lima-provider';
import { ApiClient, openTunnel } from './cli/client.js';
import { leaseLines, parseUnits, printJson, table, units } from './cli/format.js';
import { readGenesis, readKeyFile, writeAtomic, writeSecret } from './datadir.js';
import { startDevnet, tryThis } from './devnet.js';
import { readAccessKeySeed } from './ssh-key.js';
import { NODE_VERSION } from './node.js';
import { runStart } from './start.js';

const HELP: Record<string, string> = {
  main: `xe-node — node of the XE compute-lease marketplace

Usage: xe-node <command> [options]    (xe-node <command> --help for details)

Daemon
  start              run a node (ledger, p2p, API; optionally provider and timekeeper)
  devnet             start a local network of nodes on 127.0.0.1

Keys and networks
  keys new           make a node key, or (--access) an SSH access key for leases
  genesis new        make a genesis bundle (network parameters and initial funds)

Clients of a node's HTTP API (--node URL, default $XE_NODE or http://127.0.0.1:8080)
  send               send XUSD or XE from a key to an address
  balance            show an account's balances
  lease request      lease a VM (cheapest provider with room)
  lease list|show    list leases / show one lease
  lease cancel       cancel a lease that was never accepted
  ssh                ssh into a lease's VM through the node's tunnel

Examples
  xe-node devnet --dir ./devnet
  xe-node keys new --access --out ./lease_key
  xe-node lease request --vcpus 1 --memory-mb 512 --disk-gb 1 --duration 300 --access-key ./lease_key
  xe-node ssh -i ./lease_key <lease_hash> -- hostname`,
  start: `xe-node start — run a node

Options (flags win over env XE_*, which win over --config FILE, a JSON object of the same names)
  --data-dir DIR            node key, ledger, VM state (XE_DATA_DIR; default ~/.xe-node)
  --genesis FILE            genesis bundle; needed on first start (XE_GENESIS)
  --name NAME               name in logs and GET /
  --p2p-host HOST           libp2p listen host (default 0.0.0.0)
  --p2p-port PORT           libp2p TCP port (default 4001)
  --announce MULTIADDR      address to announce instead of the listen one (repeatable)
  --bootstrap MULTIADDR     peer to dial and keep dialled (repeatable; XE_BOOTSTRAP comma-separated)
  --api-bind HOST           HTTP bind address (default 127.0.0.1)
  --api-port PORT           HTTP port (default 8080)
  --operator-token-file F   operator token (or env XE_OPERATOR_TOKEN / XE_API_ADMIN_TOKEN)
  --cors-origin ORIGIN      Access-Control-Allow-Origin (default: none, no CORS headers)
  --no-rate-limit           turn the per-IP rate limits off
  --provider                rent out VMs: --vm-backend lima|sandbox --vcpus N --memory-mb N --disk-gb N
                            --price-multiplier 0.5..10 (default 1.0)
  --limactl PATH            limactl to run (lima backend; default limactl on PATH)
  --lima-image URL          VM image (lima backend)
  --sshd-path PATH          sshd for the sandbox backend
  --timekeeper              sign attestations (the node key must be listed in the bundle)
  --accept-timeout SECS     how long POST /lease/request waits for the accept (default 600)
  --offer-window-ms MS      how long a lease request collects offers (default 2000)
  --log-level LEVEL         debug|info|warn|error (default info)

Examples
  xe-node start --data-dir /var/lib/xe-node --genesis genesis.json --bootstrap /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW...
  XE_OPERATOR_TOKEN=$(openssl rand -hex 32) xe-node start --provider --vm-backend lima --vcpus 8 --memory-mb 16384 --disk-gb 200`,
  keys: `xe-node keys new [--access] [--out FILE]

  without --access: a node key (Ed25519 seed, hex, mode 0600) in FILE (default ./node.key);
                    prints its public key, address and libp2p peer id.
  --access:         an SSH access key for leases, as an OpenSSH id_ed25519 pair FILE and FILE.pub
                    (default ./xe_lease_key); prints the 64-hex public key to use as access_pub_key.

Examples
  xe-node keys new --out /var/lib/xe-node/node.key
  ACCESS=$(xe-node keys new --access --out ~/.ssh/xe_lease)`,
  genesis: `xe-node genesis new --network-id ID --timekeeper PUBKEY [...] [options]

  --network-id ID           network name
  --timekeeper PUBKEY       a timekeeper's node public key (64 hex; repeatable)
  --threshold N             attestations needed (default 1)
  --difficulty HEX          PoW difficulty, 16 hex chars (default fffff80000000000)
  --devnet-timing           the short devnet lease timings (default: production timings)
  --alloc ADDRESS:ASSET:AMOUNT   initial funds, AMOUNT in whole units (repeatable)
  --spec FILE               JSON {network_id, timekeepers:{keys,threshold}, pow_difficulty, lease, allocations:[{address,asset,amount}]}
  --treasury-dir DIR        where to write the treasury keys (default: beside --out)
  --out FILE                bundle file (default ./genesis.json)

Example
  xe-node genesis new --network-id mynet --timekeeper $(cat tk.pub) --alloc 3f2a…:XUSD:1000 --out genesis.json`,
  send: `xe-node send --to ADDRESS --amount N [--asset XUSD|XE] [--memo TEXT] (--data-dir DIR | --key FILE --genesis FILE) [--node URL]

  Builds, signs and solves the send block locally and submits it with POST /blocks.
  AMOUNT is in whole units (12.5 = 12,500,000 µ).

Example
  xe-node send --data-dir ./devnet/node-2-consumer --to 5be1… --amount 10 --node http://127.0.0.1:7105`,
  balance: `xe-node balance [ADDRESS] [--node URL] [--json]

  Without ADDRESS: the node's own account.

Examples
  xe-node balance --node http://127.0.0.1:7105
  xe-node balance 5be1… --json`,
  lease: `xe-node lease request --vcpus N --memory-mb N --disk-gb N --duration SECS (--access-key FILE | --access-pub-key HEX) [--token T]
xe-node lease list [--state STATE] [--offset N] [--limit N]
xe-node lease show HASH
xe-node lease cancel HASH [--token T]

  All take --node URL and --json. The operator token comes from --token or $XE_OPERATOR_TOKEN.

Examples
  xe-node lease request --vcpus 1 --memory-mb 512 --disk-gb 1 --duration 300 --access-key ./xe_lease_key
  xe-node lease list --state accepted --json`,
  ssh: `xe-node ssh [-i KEY] LEASE_HASH [--node URL] [-- ssh args]

  Runs the system ssh as root@ the lease's VM, through the node's tunnel (POST /tunnel/{hash}/tcp,
  signed with the access key). KEY defaults to ./xe_lease_key.

Examples
  xe-node ssh -i ./xe_lease_key 3be7… 
  xe-node ssh -i ./xe_lease_key 3be7… -- uname -a`,
};

class UsageError extends Error {}

function usage(message: string, topic: string): never {
  throw new UsageError(`${message}\n\nRun \`xe-node ${topic} --help\` for usage.`);
}

function nodeUrl(v: string | undefined): string {
  return v ?? process.env.XE_NODE ?? 'http://127.0.0.1:8080';
}

type Values = Record<string, string | boolean | string[] | undefined>;

function parse(argv: string[], options: NonNullable<ParseArgsConfig['options']>, topic: string): { values: Values; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
    return { values: r.values as Values, positionals: r.positionals };
  } catch (err) {
    return usage((err as Error).message, topic);
  }
}

async function keysCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { access: { type: 'boolean' }, out: { type: 'string' }, force: { type: 'boolean' } }, 'keys');
  if (values.help) return help('keys');
  if (positionals[0] !== 'new') usage('expected `keys new`', 'keys');
  const access = Boolean(values.access);
  const out = resolve(String(values.out ?? (access ? 'xe_lease_key' : 'node.key')));
  if (existsSync(out) && !values.force) usage(`${out} exists; pass --force to overwrite or choose another --out`, 'keys');
  mkdirSync(dirname(out), { recursive: true });
  const key = generateKeyPair();
  if (access) {
    writeSecret(out, openSshPrivateKey(key.seed, key.publicKey, 'xe-lease'));
    writeAtomic(`${out}.pub`, `${sshAuthorizedKeyLine(key.pubKeyHex)}\n`);
    process.stderr.write(`access key written: ${out} (private, OpenSSH) and ${out}.pub\naccess_pub_key:\n`);
    process.stdout.write(`${key.pubKeyHex}\n`);
  } else {
    writeSecret(out, `${Buffer.from(key.seed).toString('hex')}\n`);
    process.stderr.write(`node key written: ${out}\n`);
    printJson({ pub_key: key.pubKeyHex, address: key.address, peer_id: peerIdFromPubKeyHex(key.pubKeyHex) });
  }
  return 0;
}

async function genesisCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      'network-id': { type: 'string' },
      timekeeper: { type: 'string', multiple: true },
      threshold: { type: 'string' },
      difficulty: { type: 'string' },
      'devnet-timing': { type: 'boolean' },
      alloc: { type: 'string', multiple: true },
      spec: { type: 'string' },
      'treasury-dir': { type: 'string' },
      out: { type: 'string' },
    },
    'genesis',
  );
  if (values.help) return help('genesis');
  if (positionals[0] !== 'new') usage('expected `genesis new`', 'genesis');
  let spec: Record<string, JsonValue> = {};
  if (values.spec) {
    spec = parseJson(readFileSync(String(values.spec), 'utf8')) as Record<string, JsonValue>;
  }
  const tkSpec = (spec.timekeepers ?? {}) as { keys?: string[]; threshold?: bigint };
  const networkId = String(values['network-id'] ?? spec.network_id ?? '');
  if (!networkId) usage('--network-id is required', 'genesis');
  const keys = (values.timekeeper as string[] | undefined) ?? tkSpec.keys ?? [];
  for (const k of keys) if (!isHash(k)) usage(`--timekeeper: expected a 64-hex public key, got ${JSON.stringify(k)}`, 'genesis');
  const threshold = Number(values.threshold ?? tkSpec.threshold ?? 1);
  const diffHex = String(values.difficulty ?? spec.pow_difficulty ?? DEFAULT_POW_DIFFICULTY.toString(16));
  if (!isHex(diffHex, 16)) usage('--difficulty: expected 16 lowercase hex chars', 'genesis');
  const lease = values['devnet-timing'] ? { ...DEVNET_LEASE_PARAMS } : parseLeaseParams(spec.lease ?? {});
  const allocations: GenesisAllocation[] = [];
  for (const a of (values.alloc as string[] | undefined) ?? []) {
    const [address, asset, amount] = a.split(':');
    if (!isHash(address) || (asset !== 'XUSD' && asset !== 'XE') || !amount) usage(`--alloc: expected ADDRESS:XUSD|XE:AMOUNT, got ${JSON.stringify(a)}`, 'genesis');
    allocations.push({ address, asset, amount: parseUnits(amount, '--alloc amount') });
  }
  for (const a of (spec.allocations as Array<Record<string, JsonValue>> | undefined) ?? []) {
    allocations.push({ address: String(a.address), asset: a.asset === 'XE' ? 'XE' : 'XUSD', amount: BigInt(a.amount as bigint) });
  }
  const params = { network_id: networkId, pow_difficulty: BigInt(`0x${diffHex}`), timekeepers: { keys, threshold }, lease };
  validateNetworkParams(params);
  const out = resolve(String(values.out ?? 'genesis.json'));
  const tdir = resolve(String(values['treasury-dir'] ?? dirname(out)));
  mkdirSync(tdir, { recursive: true });
  const treasury = { XE: generateKeyPair(), XUSD: generateKeyPair() };
  for (const [asset, k] of Object.entries(treasury)) writeSecret(join(tdir, `treasury-${asset}.key`), `${Buffer.from(k.seed).toString('hex')}\n`);
  process.stderr.write(`solving proof of work for ${allocations.length} allocation(s)…\n`);
  const bundle = await createGenesisBundle({ networkId, difficulty: params.pow_difficulty, timekeepers: params.timekeepers, lease, treasuryKeys: treasury, allocations });
  writeAtomic(out, `${stringifyJson(bundleToJson(bundle), 2)}\n`);
  process.stderr.write(`genesis bundle written: ${out}; treasury keys in ${tdir}\n`);
  return 0;
}

async function devnetCmd(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    { dir: { type: 'string' }, nodes: { type: 'string' }, 'base-port': { type: 'string' }, fresh: { type: 'boolean' }, 'log-level': { type: 'string' } },
    'devnet',
  );
  if (values.help) return help('devnet');
  const nodes = Number(values.nodes ?? 3);
  if (!Number.isInteger(nodes) || nodes < 3 || nodes > 16) usage('--nodes: between 3 and 16', 'devnet');
  const basePort = Number(values['base-port'] ?? 7100);
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort > 65000) usage('--base-port: between 1024 and 65000', 'devnet');
  const dir = String(values.dir ?? 'devnet');
  const log = createLogger('devnet', { level: 'info' });
  const net = await startDevnet({ dir, nodes, basePort, fresh: Boolean(values.fresh), logLevel: String(values['log-level'] ?? 'info') }, log);
  process.stdout.write(`${tryThis(net.info, dir)}\n`);
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) process.exit(130);
    stopping = true;
    log.info('stopping devnet', { reason: why });
    await net.stop();
    log.info('devnet stopped');
  };
  const signal = new Promise<string>((r) => {
    process.once('SIGINT', () => r('SIGINT'));
    process.once('SIGTERM', () => r('SIGTERM'));
  });
  const why = await Promise.race([signal, net.exited.then(() => 'a node exited')]);
  process.on('SIGINT', () => process.exit(130));
  process.on('SIGTERM', () => process.exit(143));
  await stop(why);
  return why === 'a node exited' ? 1 : 0;
}

function signingKey(values: Record<string, unknown>): { key: KeyPair; genesisFile: string } {
  if (values['data-dir']) {
    const d = resolve(String(values['data-dir']));
    return { key: readKeyFile(join(d, 'node.key')), genesisFile: String(values.genesis ?? join(d, 'genesis.json')) };
  }
  if (!values.key || !values.genesis) usage('pass --data-dir DIR, or --key FILE and --genesis FILE', 'send');
  return { key: readKeyFile(String(values.key)), genesisFile: String(values.genesis) };
}

async function sendCmd(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      to: { type: 'string' },
      amount: { type: 'string' },
      asset: { type: 'string' },
      memo: { type: 'string' },
      'data-dir': { type: 'string' },
      key: { type: 'string' },
      genesis: { type: 'string' },
      node: { type: 'string' },
      json: { type: 'boolean' },
    },
    'send',
  );
  if (values.help) return help('send');
  const to = String(values.to ?? '');
  if (!isHash(to)) usage('--to: expected a 64-hex address', 'send');
  if (!values.amount) usage('--amount is required', 'send');
  const asset = String(values.asset ?? 'XUSD');
  if (asset !== 'XUSD' && asset !== 'XE') usage('--asset: XUSD or XE', 'send');
  const amount = parseUnits(String(values.amount));
  const { key, genesisFile } = signingKey(values);
  const bundle = readGenesis(genesisFile);
  const client = new ApiClient(nodeUrl(values.node as string | undefined));
  const acct = (await client.call('GET', `/accounts/${key.address}`).catch(() => null)) as Record<string, JsonValue> | null;
  if (!acct) throw new XeError('CLIENT', `account ${key.address} has no blocks yet on this node; it must receive funds first`);
  const balances = acct.balances as Record<string, bigint>;
  const have = balances[asset] ?? 0n;
  if (have < amount) throw new XeError('INSUFFICIENT_BALANCE', `balance ${units(have)} ${asset} is less than ${units(amount)}`);
  const unsigned = {
    type: 'send' as const,
    account: key.address,
    previous: String(acct.frontier),
    balance: have - amount,
    timestamp: systemClock(),
    asset: asset as 'XUSD' | 'XE',
    destination: to,
    amount,
    ...(values.memo ? { memo: String(values.memo) } : {}),
  };
  const block = await attachPow(signBlock(unsigned, key, bundle.network_id), bundle.pow_difficulty);
  const res = await client.call('POST', '/blocks', block);
  if (values.json) printJson(res);
  else process.stdout.write(`sent ${units(amount)} ${asset} to ${to}\nblock ${block.hash}\n`);
  return 0;
}

async function balanceCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { node: { type: 'string' }, json: { type: 'boolean' } }, 'balance');
  if (values.help) return help('balance');
  const client = new ApiClient(nodeUrl(values.node as string | undefined));
  let address = positionals[0];
  if (!address) address = String(((await client.call('GET', '/node')) as Record<string, JsonValue>).address);
  if (!isHash(address)) usage('ADDRESS: expected 64 lowercase hex chars', 'balance');
  const a = (await client.call('GET', `/accounts/${address}`)) as Record<string, JsonValue>;
  if (values.json) printJson(a);
  else {
    const b = a.balances as Record<string, bigint>;
    const p = (a.pending ?? {}) as Record<string, bigint>;
    process.stdout.write(`${address}\nXUSD  ${units(b.XUSD ?? 0n)}${p.XUSD ? `  (+${units(p.XUSD)} pending)` : ''}\nXE    ${units(b.XE ?? 0n)}${p.XE ? `  (+${units(p.XE)} pending)` : ''}\n`);
  }
  return 0;
}

async function leaseCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      node: { type: 'string' },
      token: { type: 'string' },
      json: { type: 'boolean' },
      vcpus: { type: 'string' },
      'memory-mb': { type: 'string' },
      'disk-gb': { type: 'string' },
      duration: { type: 'string' },
      'access-key': { type: 'string' },
      'access-pub-key': { type: 'string' },
      state: { type: 'string' },
      offset: { type: 'string' },
      limit: { type: 'string' },
    },
    'lease',
  );
  if (values.help) return help('lease');
  const client = new ApiClient(nodeUrl(values.node as string | undefined), (values.token as string | undefined) ?? process.env.XE_OPERATOR_TOKEN);
  const sub = positionals[0];
  if (sub === 'request') {
    let pub = values['access-pub-key'] as string | undefined;
    if (!pub && values['access-key']) {
      const k = readAccessKeySeed(String(values['access-key']));
      pub = k.publicKeyHex || keyPairFromSeed(k.seed).pubKeyHex;
    }
    if (!pub) usage('pass --access-key FILE or --access-pub-key HEX', 'lease');
    const num = (k: string) => {
      const v = values[k as keyof typeof values];
      if (v === undefined) usage(`--${k} is required`, 'lease');
      if (!/^\d+$/.test(String(v))) usage(`--${k}: expected a whole number`, 'lease');
      return Number(v);
    };
    const body = { vcpus: num('vcpus'), memory_mb: num('memory-mb'), disk_gb: num('disk-gb'), duration: num('duration'), access_pub_key: pub };
    process.stderr.write('requesting a lease (collecting offers, then waiting for the provider to accept)…\n');
    const res = (await client.call('POST', '/lease/request', body, { auth: true, timeoutMs: 3_600_000 })) as Record<string, JsonValue>;
    if (values.json) printJson(res);
    else process.stdout.write(`lease accepted: ${res.lease_hash}\n`);
    return 0;
  }
  if (sub === 'list') {
    const q = new URLSearchParams();
    for (const k of ['state', 'offset', 'limit'] as const) if (values[k]) q.set(k, String(values[k]));
    const list = (await client.call('GET', `/leases${q.size ? `?${q}` : ''}`)) as Array<Record<string, JsonValue>>;
    if (values.json) printJson(list);
    else if (list.length === 0) process.stdout.write('no leases\n');
    else
      process.stdout.write(
        `${table([
          ['LEASE', 'STATE', 'RESOURCES', 'DURATION', 'COST (XUSD)'],
          ...list.map((l) => [String(l.lease_hash), String(l.state), `${l.vcpus}c/${l.memory_mb}M/${l.disk_gb}G`, `${l.duration}s`, units(BigInt(l.cost as bigint))]),
        ])}\n`,
      );
    return 0;
  }
  if (sub === 'show' || sub === 'cancel') {
    const hash = positionals[1];
    if (!isHash(hash)) usage('LEASE_HASH: expected 64 lowercase hex chars', 'lease');
    if (sub === 'show') {
      const l = (await client.call('GET', `/leases/${hash}`)) as Record<string, JsonValue>;
      if (values.json) printJson(l);
      else process.stdout.write(`${leaseLines(l)}\n`);
    } else {
      const r = await client.call('POST', `/leases/${hash}/cancel`, {}, { auth: true });
      if (values.json) printJson(r);
      else process.stdout.write(`lease cancelled: ${hash}\n`);
    }
    return 0;
  }
  return usage('expected `lease request|list|show|cancel`', 'lease');
}

function realpathOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

function cliPath(): string {
  return fileURLToPath(import.meta.url);
}

async function sshCmd(argv: string[]): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash >= 0 ? argv.slice(0, dash) : argv;
  const extra = dash >= 0 ? argv.slice(dash + 1) : [];
  const { values, positionals } = parse(own, { identity: { type: 'string', short: 'i' }, node: { type: 'string' } }, 'ssh');
  if (values.help) return help('ssh');
  const hash = positionals[0];
  if (!isHash(hash)) usage('LEASE_HASH: expected 64 lowercase hex chars', 'ssh');
  const keyFile = resolve(String(values.identity ?? 'xe_lease_key'));
  readAccessKeySeed(keyFile); // fail early with a clear message
  const node = nodeUrl(values.node as string | undefined);
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const proxy = `${q(process.execPath)} ${q(cliPath())} tunnel-proxy --node ${q(node)} --key ${q(keyFile)} ${hash}`;
  const args = [
    '-i', keyFile,
    '-o', 'IdentitiesOnly=yes',
    '-o', `ProxyCommand=${proxy}`,
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'LogLevel=ERROR',
    `root@${vmName(hash)}`,
    ...extra,
  ];
  const child = spawn(process.env.XE_SSH ?? 'ssh', args, { stdio: 'inherit' });
  return new Promise((r) => {
    child.on('exit', (code, sig) => r(code ?? (sig ? 128 : 1)));
    child.on('error', (err) => {
      process.stderr.write(`cannot run ssh: ${err.message} (install openssh-client)\n`);
      r(127);
    });
  });
}

async function tunnelProxyCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { node: { type: 'string' }, key: { type: 'string' } }, 'ssh');
  const hash = positionals[0];
  if (!isHash(hash) || !values.key) usage('tunnel-proxy --node URL --key FILE LEASE_HASH', 'ssh');
  const { seed } = readAccessKeySeed(String(values.key));
  const socket = await openTunnel(nodeUrl(values.node as string | undefined), hash, seed, systemClock());
  await new Promise<void>((r) => {
    process.stdin.pipe(socket);
    socket.pipe(process.stdout);
    socket.on('close', () => r());
    process.stdin.on('end', () => socket.end());
  });
  return 0;
}

function help(topic: string): number {
  process.stdout.write(`${HELP[topic] ?? HELP.main}\n`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') return help(rest[0] ?? 'main');
  if (cmd === '--version' || cmd === 'version') {
    process.stdout.write(`${NODE_VERSION}\n`);
    return 0;
  }
  switch (cmd) {
    case 'start':
      if (rest.includes('--help') || rest.includes('-h')) return help('start');
      return runStart(rest);
    case 'keys':
      return keysCmd(rest);
    case 'genesis':
      return genesisCmd(rest);
    case 'devnet':
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(`xe-node devnet [--dir D] [--nodes 3] [--base-port 7100] [--fresh] [--log-level info]

  Makes keys and a genesis bundle (short timings, low difficulty, 1,000 XUSD for every node), starts
  the nodes on 127.0.0.1 (a timekeeper, a provider with the sandbox backend, a consumer; more nodes
  add providers and timekeepers, threshold 2 from three timekeepers), waits until they are ready,
  writes D/devnet.json and stops everything on Ctrl-C or SIGTERM. Needs bubblewrap and sshd
  (scripts/bootstrap.sh installs them).

Example
  xe-node devnet --dir ./devnet --nodes 5\n`);
        return 0;
      }
      return devnetCmd(rest);
    case 'send':
      return sendCmd(rest);
    case 'balance':
      return balanceCmd(rest);
    case 'lease':
      return leaseCmd(rest);
    case 'ssh':
      return sshCmd(rest);
    case 'tunnel-proxy':
      return tunnelProxyCmd(rest);
    default:
      return usage(`unknown command ${JSON.stringify(cmd)}`, '');
  }
}

// Run as a program (also through a symlink such as an npm bin), not imported.
const isEntry = process.argv[1] !== undefined && realpathOr(process.argv[1]) === realpathOr(cliPath());
if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      if (err instanceof UsageError) process.stderr.write(`xe-node: ${err.message}\n`);
      else if (err instanceof XeError) process.stderr.write(`xe-node: ${err.code}: ${err.message}\n`);
      else process.stderr.write(`xe-node: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = err instanceof UsageError ? 2 : 1;
    },
  );
}

