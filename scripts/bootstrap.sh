#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine with Node 20:
# pnpm (pinned), the workspace dependencies, and the Debian packages the sandbox VM
# backend needs (bubblewrap, an unpacked OpenSSH sshd, the ssh client). Idempotent.
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

echo "==> installing workspace dependencies"
pnpm install --frozen-lockfile

echo "==> building"
pnpm build
