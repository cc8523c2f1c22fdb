import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SandboxDepsError } from '../errors.js';

/** Where scripts/install-sandbox-deps.sh unpacks OpenSSH's sshd. */
export const SANDBOX_PREFIX = '/opt/xe-sandbox';

/** The install command named in SANDBOX_DEPS_MISSING errors. */
export const INSTALL_SCRIPT = fileURLToPath(new URL('../../scripts/install-sandbox-deps.sh', import.meta.url));
export const INSTALL_HINT = `run as root: bash ${INSTALL_SCRIPT}  (apt-get install -y bubblewrap openssh-client; sshd unpacked from openssh-server into ${SANDBOX_PREFIX})`;

/** Programs and paths the sandbox backend runs. */
export interface SandboxDeps {
  bwrap: string;
  nsenter: string;
  /** util-linux's setpriv, under /usr (the sandbox sees the host's /usr): drops tenant capabilities. */
  setpriv: string;
  sshd: string;
  /** OpenSSH's ssh-keygen (openssh-client): makes each VM's host key and reads its fingerprint. */
  sshKeygen: string;
  /** Read-only bind mounts (host path = sandbox path) needed to run sshd. */
  binds: string[];
  /** LD_LIBRARY_PATH for sshd (its unpacked libraries), possibly empty. */
  libraryPath: string;
  /** sftp-server next to the unpacked sshd, when present. */
  sftpServer?: string;
}

export interface FindDepsOptions {
  /** sshd to use; otherwise $XE_SSHD_PATH, then the install prefix, then /usr/sbin/sshd. */
  sshdPath?: string | undefined;
  /** PATH to search for bwrap and nsenter; process.env.PATH by default. */
  searchPath?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

const MULTIARCH: Record<string, string> = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };

/** Finds bwrap, nsenter and sshd, or throws SANDBOX_DEPS_MISSING naming the install command. */
export function findSandboxDeps(options: FindDepsOptions = {}): SandboxDeps {
  const env = options.env ?? process.env;
  const searchPath = options.searchPath ?? env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';
  const bwrap = onPath('bwrap', searchPath);
  if (!bwrap) throw new SandboxDepsError(`bubblewrap (bwrap) is not on PATH; ${INSTALL_HINT}`, { details: { missing: 'bwrap' } });
  const nsenter = onPath('nsenter', searchPath);
  if (!nsenter) {
    throw new SandboxDepsError('nsenter is not on PATH; apt-get install -y util-linux', { details: { missing: 'nsenter' } });
  }
  const setpriv = onPath('setpriv', searchPath);
  if (!setpriv?.startsWith('/usr/')) {
    throw new SandboxDepsError('setpriv (util-linux) is not under /usr on PATH; apt-get install -y util-linux', { details: { missing: 'setpriv' } });
  }
  const sshKeygen = onPath('ssh-keygen', searchPath);
  if (!sshKeygen) throw new SandboxDepsError(`ssh-keygen is not on PATH; ${INSTALL_HINT}`, { details: { missing: 'ssh-keygen' } });
  const candidates = [options.sshdPath, env.XE_SSHD_PATH, `${SANDBOX_PREFIX}/usr/sbin/sshd`, '/usr/sbin/sshd'];
  const explicit = options.sshdPath ?? env.XE_SSHD_PATH;
  let sshd: string | undefined;
  if (explicit !== undefined && explicit !== '') {
    if (!isExecutable(explicit)) {
      throw new SandboxDepsError(`sshd not found at ${explicit}; ${INSTALL_HINT}`, { details: { missing: 'sshd' } });
    }
    sshd = explicit;
  } else {
    sshd = candidates.find((c): c is string => typeof c === 'string' && c !== '' && isExecutable(c));
  }
  if (!sshd) throw new SandboxDepsError(`OpenSSH sshd not found; ${INSTALL_HINT}`, { details: { missing: 'sshd' } });

  const binds: string[] = [];
  const libs: string[] = [];
  let sftpServer: string | undefined;
  const suffix = '/usr/sbin/sshd';
  if (sshd.endsWith(suffix) && sshd !== suffix) {
    const prefix = sshd.slice(0, -suffix.length);
    binds.push(prefix);
    const arch = MULTIARCH[process.arch] ?? `${process.arch}-linux-gnu`;
    for (const d of [`${prefix}/usr/lib/${arch}`, `${prefix}/lib/${arch}`]) if (existsSync(d)) libs.push(d);
    const sftp = `${prefix}/usr/lib/openssh/sftp-server`;
    if (isExecutable(sftp)) sftpServer = sftp;
  } else if (!sshd.startsWith('/usr/')) {
    binds.push(dirname(sshd));
  } else if (isExecutable('/usr/lib/openssh/sftp-server')) {
    sftpServer = '/usr/lib/openssh/sftp-server';
  }
  const deps: SandboxDeps = { bwrap, nsenter, setpriv, sshd, sshKeygen, binds, libraryPath: libs.join(':') };
  if (sftpServer) deps.sftpServer = sftpServer;
  return deps;
}
