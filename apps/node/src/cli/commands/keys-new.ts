import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command } from 'commander';
import { generateKeyPair, openSshPrivateKey, sshAuthorizedKeyLine } from '@xe/crypto';
import { writeAtomic, writeSecret } from '../../datadir.js';
import { action, type CliRun, usage } from '../common.js';
import { printJson } from '../format.js';

/** `xe-node keys new`: a node key, or (--access) an SSH access key for leases. */
export function keysNew(run: CliRun): Command {
  return new Command('new')
    .description('make a node key, or (--access) an SSH access key for leases')
    .option('--access', 'an SSH access key: an OpenSSH id_ed25519 pair FILE and FILE.pub; prints the access_pub_key')
    .option('--out <file>', 'where to write it (default ./node.key, or ./xe_lease_key with --access)')
    .option('--force', 'overwrite an existing file')
    .addHelpText(
      'after',
      `
Without --access: a node key (Ed25519 seed, hex, mode 0600); prints its public key, address and
libp2p peer id. With --access: prints the 64-hex public key to use as access_pub_key.

Examples
  xe-node keys new --out /var/lib/xe-node/node.key
  ACCESS=$(xe-node keys new --access --out ~/.ssh/xe_lease)`,
    )
    .action(
      action(run, async (flags: { access?: boolean; out?: string; force?: boolean }) => {
        const access = Boolean(flags.access);
        const out = resolve(flags.out ?? (access ? 'xe_lease_key' : 'node.key'));
        if (existsSync(out) && !flags.force) usage(`${out} exists; pass --force to overwrite or choose another --out`, 'keys new');
        mkdirSync(dirname(out), { recursive: true });
        const key = generateKeyPair();
        if (access) {
          writeSecret(out, openSshPrivateKey(key, 'xe-lease'));
          writeAtomic(`${out}.pub`, `${sshAuthorizedKeyLine(key.pubKeyHex)}\n`);
          process.stderr.write(`access key written: ${out} (private, OpenSSH) and ${out}.pub\naccess_pub_key:\n`);
          process.stdout.write(`${key.pubKeyHex}\n`);
        } else {
          const { peerIdFromPubKeyHex } = await import('@xe/gossip');
          writeSecret(out, `${Buffer.from(key.seed).toString('hex')}\n`);
          process.stderr.write(`node key written: ${out}\n`);
          printJson({ pub_key: key.pubKeyHex, address: key.address, peer_id: peerIdFromPubKeyHex(key.pubKeyHex) });
        }
        return 0;
      }),
    );
}
