#!/usr/bin/env bash
# Installs Debian's chromium, the browser the web console's e2e tests drive through
# playwright-core (a browser download by playwright itself is not used). Idempotent: a
# second run only checks. Must run as root (or have chromium installed already).
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-browser-deps: chromium is missing and this is not root; run: apt-get install chromium" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
command -v chromium >/dev/null
