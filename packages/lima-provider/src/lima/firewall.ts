import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { promisify } from 'node:util';
import { LimaError, VmErrorCodes } from '../errors.js';

const run = promisify(execFile);

/**
 * IPv4 destinations a Lima guest never needs and must not reach from the host: loopback
 * (what Lima's gateway 192.168.5.2 maps to), "this network", the private ranges (the LAN,
 * other tenants), carrier-grade NAT, link-local (cloud metadata at 169.254.169.254),
 * multicast and reserved space.
 */
export const FENCED_V4 = [
  '127.0.0.0/8',
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '224.0.0.0/4',
  '240.0.0.0/4',
] as const;
/** The same for IPv6: loopback, v4-mapped, unique-local, link-local, multicast. */
export const FENCED_V6 = ['::1/128', '::ffff:0:0/96', 'fc00::/7', 'fe80::/10', 'ff00::/8'] as const;

export interface LimaFirewallOptions {
  /** The uid whose outbound traffic is fenced: the dedicated user that runs limactl, its host agents and QEMU. */
  uid: number;
  /** How iptables is run (default `['iptables']`; a test runs it in its own namespace: `['ip', 'netns', 'exec', ns, 'iptables']`). */
  iptables?: readonly string[];
  /** How ip6tables is run (default `['ip6tables']`); null: no IPv6 rules. */
  ip6tables?: readonly string[] | null;
  /** The host's own addresses, also fenced (default: every address of every interface). */
  hostAddresses?: readonly string[];
}

/** The chain of one fenced uid. */
export function firewallChain(uid: number): string {
  return `XE-LIMA-${uid}`;
}

function hostAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined)
    .map((a) => a!.address);
}

async function ipt(cmd: readonly string[], args: string[]): Promise<boolean> {
  try {
    await run(cmd[0]!, [...cmd.slice(1), '-w', '5', ...args], { timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}

async function iptOrThrow(cmd: readonly string[], args: string[]): Promise<void> {
  try {
    await run(cmd[0]!, [...cmd.slice(1), '-w', '5', ...args], { timeout: 15_000 });
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? err).trim();
    throw new LimaError(VmErrorCodes.HOST_FIREWALL_MISSING, `${cmd.join(' ')} ${args.join(' ')} failed: ${stderr.slice(0, 300)}`, {
      details: { args, stderr: stderr.slice(0, 300) },
    });
  }
}

function families(o: LimaFirewallOptions): { cmd: readonly string[]; fenced: string[] }[] {
  const own = o.hostAddresses ?? hostAddresses();
  const out = [{ cmd: o.iptables ?? ['iptables'], fenced: [...FENCED_V4, ...own.filter((a) => !a.includes(':')).map((a) => `${a}/32`)] }];
  const v6 = o.ip6tables === undefined ? ['ip6tables'] : o.ip6tables;
  if (v6) out.push({ cmd: v6, fenced: [...FENCED_V6, ...own.filter((a) => a.includes(':')).map((a) => `${a.split('%')[0]}/128`)] });
  return out;
}

const jump = (uid: number) => ['OUTPUT', '-m', 'owner', '--uid-owner', String(uid), '-j', firewallChain(uid)];

/**
 * Installs (or rebuilds) the host firewall that fences a Lima guest's user-mode network.
 * With user-mode networking the guest's outbound connections are made on the host by the
 * VM's QEMU (or Lima's usernet) process, which runs as `uid`: every packet that uid sends
 * goes through the chain `XE-LIMA-<uid>`, which lets replies of connections made to it
 * (the provider reaching the forwarded SSH port) and the loopback ports allowed with
 * `allowLoopbackPort` through, and rejects new connections to loopback, the host's own
 * addresses, private, link-local (metadata), multicast and reserved ranges. Needs root.
 */
export async function installLimaFirewall(o: LimaFirewallOptions): Promise<void> {
  const chain = firewallChain(o.uid);
  for (const { cmd, fenced } of families(o)) {
    if (!(await ipt(cmd, ['-N', chain]))) await iptOrThrow(cmd, ['-F', chain]);
    // The chain's rules in one transaction (iptables-restore, not flushing other chains).
    const rules = [
      '*filter',
      `-A ${chain} -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN`,
      ...fenced.flatMap((net) => [`-A ${chain} -d ${net} -p tcp -j REJECT --reject-with tcp-reset`, `-A ${chain} -d ${net} -j REJECT`]),
      'COMMIT',
      '',
    ].join('\n');
    await restore(cmd, rules);
    if (!(await ipt(cmd, ['-C', ...jump(o.uid)]))) await iptOrThrow(cmd, ['-I', ...jump(o.uid)]);
  }
}

/** `<iptables>-restore --noflush` of `rules` (the restore tool sits beside the command's last word). */
function restore(cmd: readonly string[], rules: string): Promise<void> {
  const tool = `${cmd[cmd.length - 1]}-restore`;
  const argv = [...cmd.slice(0, -1), tool, '-w', '5', '--noflush'];
  return new Promise((resolve, reject) => {
    const child = execFile(argv[0]!, argv.slice(1), { timeout: 15_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      reject(
        new LimaError(VmErrorCodes.HOST_FIREWALL_MISSING, `${argv.join(' ')} failed: ${String(stderr).trim().slice(0, 300)}`, {
          details: { stderr: String(stderr).trim().slice(0, 300) },
        }),
      );
    });
    child.stdin?.end(rules);
  });
}

/** True when the jump for `uid` and the chain's loopback reject are in place (every family configured). */
export async function checkLimaFirewall(o: LimaFirewallOptions): Promise<boolean> {
  const chain = firewallChain(o.uid);
  for (const { cmd, fenced } of families(o)) {
    if (!(await ipt(cmd, ['-C', ...jump(o.uid)]))) return false;
    if (!(await ipt(cmd, ['-C', chain, '-d', fenced[0]!, '-p', 'tcp', '-j', 'REJECT', '--reject-with', 'tcp-reset']))) return false;
  }
  return true;
}

/** Removes the jump and the chain of `uid` (idempotent). */
export async function removeLimaFirewall(o: LimaFirewallOptions): Promise<void> {
  const chain = firewallChain(o.uid);
  for (const { cmd } of families(o)) {
    while (await ipt(cmd, ['-D', ...jump(o.uid)])) {
      // every copy of the jump
    }
    await ipt(cmd, ['-F', chain]);
    await ipt(cmd, ['-X', chain]);
  }
}

const loopbackRule = (uid: number, port: number) => [firewallChain(uid), '-d', '127.0.0.1/32', '-p', 'tcp', '--dport', String(port), '-j', 'RETURN'];

/**
 * Lets `uid` open connections to 127.0.0.1:`port` (Lima's host agent reaching the
 * instance's forwarded SSH port, which it must; the guest can then reach that one port
 * too, an sshd that takes keys only). Inserted before the rejects; undone by `denyLoopbackPort`.
 */
export async function allowLoopbackPort(o: LimaFirewallOptions, port: number): Promise<void> {
  const cmd = o.iptables ?? ['iptables'];
  if (!(await ipt(cmd, ['-C', ...loopbackRule(o.uid, port)]))) await iptOrThrow(cmd, ['-I', firewallChain(o.uid), '2', ...loopbackRule(o.uid, port).slice(1)]);
}

export async function denyLoopbackPort(o: LimaFirewallOptions, port: number): Promise<void> {
  const cmd = o.iptables ?? ['iptables'];
  while (await ipt(cmd, ['-D', ...loopbackRule(o.uid, port)])) {
    // every copy
  }
}

/** uid, gid and home of a local user from /etc/passwd; LIMA_USER_UNKNOWN naming it otherwise. */
export function lookupUser(name: string, passwdFile = '/etc/passwd'): { uid: number; gid: number; home: string } {
  for (const line of readFileSync(passwdFile, 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 7) {
      const uid = Number(f[2]);
      if (uid === 0) break;
      return { uid, gid: Number(f[3]), home: f[5]! };
    }
  }
  throw new LimaError(VmErrorCodes.HOST_FIREWALL_MISSING, `no unprivileged local user ${JSON.stringify(name)} to run Lima as; create one: useradd --system --create-home ${name}`, {
    details: { user: name },
  });
}
