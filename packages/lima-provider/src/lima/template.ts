import type { Resources } from '@xe/core-types';

export interface LimaImage {
  location: string;
  arch: 'x86_64' | 'aarch64';
  digest?: string;
}

/** Debian 12 generic cloud images (Lima boots cloud images with cloud-init). */
export const DEFAULT_LIMA_IMAGES: readonly LimaImage[] = [
  { location: 'https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2', arch: 'x86_64' },
  { location: 'https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-arm64.qcow2', arch: 'aarch64' },
];

/** Lima's floor for a VM; a lease asking for 0 of something gets this much. */
export const LIMA_MIN_CPUS = 1;
export const LIMA_MIN_MEMORY_MB = 512;
export const LIMA_MIN_DISK_GB = 4;

export interface TemplateInput {
  name: string;
  resources: Resources;
  /** The lease key's authorized_keys line, checked by `authorizedKeyLineFor`. */
  authorizedKey: string;
  /** The instance's SSH port on 127.0.0.1 (Lima's `ssh.localPort`; 0: Lima picks one). */
  sshLocalPort?: number;
  images?: readonly LimaImage[];
}

/** The system provision script: installs the lease key for root, key-only login, hostname = VM name. */
export function provisionScript(name: string, line: string): string {
  // The line passed authorizedKeyLineFor: `ssh-ed25519`, base64 and a comment of safe characters; nothing here can break quoting.
  return [
    '#!/bin/sh',
    'set -eu',
    'install -d -m 700 /root/.ssh',
    `printf '%s\\n' '${line}' > /root/.ssh/authorized_keys`,
    'chmod 600 /root/.ssh/authorized_keys',
    'install -d -m 755 /etc/ssh/sshd_config.d',
    "printf 'PermitRootLogin prohibit-password\\nPasswordAuthentication no\\nKbdInteractiveAuthentication no\\n' > /etc/ssh/sshd_config.d/00-xe-lease.conf",
    `hostname ${name} 2>/dev/null || true`,
    `echo ${name} > /etc/hostname`,
    'systemctl reload ssh 2>/dev/null || systemctl reload sshd 2>/dev/null || true',
    '',
  ].join('\n');
}

function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text
    .split('\n')
    .map((l) => (l === '' ? '' : pad + l))
    .join('\n');
}

/** A Lima instance template (lima.yaml) for one lease. */
export function renderTemplate(input: TemplateInput): string {
  if (!/^xe-[0-9a-f]{12}$/.test(input.name)) throw new Error(`bad VM name ${input.name}`);
  const r = input.resources;
  const cpus = Math.max(LIMA_MIN_CPUS, r.vcpus);
  const memory = Math.max(LIMA_MIN_MEMORY_MB, r.memory_mb);
  const disk = Math.max(LIMA_MIN_DISK_GB, r.disk_gb);
  const images = input.images ?? DEFAULT_LIMA_IMAGES;
  const lines = [
    `# xe lease VM ${input.name}`,
    'vmType: qemu',
    'images:',
    ...images.flatMap((img) => [
      `- location: ${JSON.stringify(img.location)}`,
      `  arch: ${img.arch}`,
      ...(img.digest ? [`  digest: ${JSON.stringify(img.digest)}`] : []),
    ]),
    `cpus: ${cpus}`,
    `memory: "${memory}MiB"`,
    `disk: "${disk}GiB"`,
    'mounts: []',
    'containerd:',
    '  system: false',
    '  user: false',
    'ssh:',
    `  localPort: ${Number.isSafeInteger(input.sshLocalPort) && input.sshLocalPort! > 0 && input.sshLocalPort! < 65536 ? input.sshLocalPort : 0}`,
    '  loadDotSSHPubKeys: false',
    'provision:',
    '- mode: system',
    '  script: |',
    indent(provisionScript(input.name, input.authorizedKey), 4),
  ];
  return `${lines.join('\n')}\n`;
}
