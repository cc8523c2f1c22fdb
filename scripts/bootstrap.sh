#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine with Node 20:
# pnpm (pinned), the workspace dependencies, the Debian packages the sandbox VM backend
# needs (bubblewrap, an unpacked OpenSSH sshd, the ssh client), and QEMU with the guest
# image of the qemu VM backend (built from Debian packages into /var/cache/xe-node), and
# Debian's chromium for the web console's browser tests. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

want_pnpm=12.4.2
if [ "$(pnpm --version 2>/dev/null || true)" != "$want_pnpm" ]; then
  echo "==> installing pnpm $want_pnpm"
  npm install -g "pnpm@$want_pnpm" >/dev/null
fi

if [ -x packages/lima-provider/scripts/install-sandbox-deps.sh ] || [ -f packages/lima-provider/scripts/install-sandbox-deps.sh ]; then
  echo "==> installing sandbox dependencies (bubblewrap, sshd)"
  bash packages/lima-provider/scripts/install-sandbox-deps.sh
fi

if [ -f packages/lima-provider/scripts/install-qemu.sh ]; then
  echo "==> installing QEMU and building the guest image (cloud kernel, busybox, dropbear; Debian packages only)"
  bash packages/lima-provider/scripts/install-qemu.sh
fi

if [ -f apps/node/scripts/install-browser-deps.sh ]; then
  echo "==> installing chromium (the web console's browser tests)"
  bash apps/node/scripts/install-browser-deps.sh
fi

echo "==> installing workspace dependencies"
pnpm install --frozen-lockfile

echo "==> building"
pnpm build
