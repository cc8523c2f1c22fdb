import { Command } from 'commander';
import { keyPairFromSeed } from '@xe/crypto';
import { readAccessKeySeed } from '../../ssh-key.js';
import { action, apiClient, type CliRun, type ClientOptions, clientOptions, usage } from '../common.js';
import { printJson } from '../format.js';

interface RequestFlags extends ClientOptions {
  vcpus?: string;
  memoryMb?: string;
  diskGb?: string;
  duration?: string;
  accessKey?: string;
  accessPubKey?: string;
}

const LEASE_REQUEST_TIMEOUT_MS = 3_600_000;

/** `xe-node lease request`: leases a VM from the cheapest provider with room (POST /lease/request, operator route). */
export function leaseRequest(run: CliRun): Command {
  const cmd = new Command('request')
    .description('lease a VM (cheapest provider with room)')
    .option('--vcpus <n>', 'vCPUs')
    .option('--memory-mb <n>', 'memory, MB')
    .option('--disk-gb <n>', 'disk, GB')
    .option('--duration <secs>', 'lease duration in seconds')
    .option('--access-key <file>', 'the OpenSSH access key whose public half the VM will accept')
    .option('--access-pub-key <hex>', 'or the access public key itself (64 hex)');
  return clientOptions(cmd)
    .addHelpText(
      'after',
      `
Example
  xe-node lease request --vcpus 1 --memory-mb 512 --disk-gb 1 --duration 300 --access-key ./xe_lease_key --token-file ~/.xe-token`,
    )
    .action(
      action(run, async (flags: RequestFlags) => {
        const topic = 'lease request';
        let pub = flags.accessPubKey;
        if (!pub && flags.accessKey) {
          const k = readAccessKeySeed(flags.accessKey);
          pub = k.publicKeyHex || keyPairFromSeed(k.seed).pubKeyHex;
        }
        if (!pub) usage('pass --access-key FILE or --access-pub-key HEX', topic);
        const num = (name: string, v: string | undefined) => {
          if (v === undefined) usage(`--${name} is required`, topic);
          if (!/^\d+$/.test(v)) usage(`--${name}: expected a whole number`, topic);
          return Number(v);
        };
        const body = {
          vcpus: num('vcpus', flags.vcpus),
          memory_mb: num('memory-mb', flags.memoryMb),
          disk_gb: num('disk-gb', flags.diskGb),
          duration: num('duration', flags.duration),
          access_pub_key: pub,
        };
        const client = apiClient(flags, topic);
        process.stderr.write('requesting a lease (collecting offers, then waiting for the provider to accept)…\n');
        const res = await client.requestLease(body, { timeoutMs: LEASE_REQUEST_TIMEOUT_MS });
        if (flags.json) printJson(res);
        else process.stdout.write(`lease accepted: ${res.lease_hash}\n`);
        return 0;
      }),
    );
}
