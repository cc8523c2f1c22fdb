#!/usr/bin/env bash
# Installs everything (pnpm, the sandbox's Debian packages, dependencies), builds, then
# starts a local network: `xe-node devnet` with the arguments given here, e.g.
#   ./scripts/devnet.sh --dir ./devnet --base-port 7100
# Ctrl-C (or SIGTERM) stops every node.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec node apps/node/dist/cli.js devnet "$@"
