#!/usr/bin/env bash
# Installs what the sandbox VM backend of @xe/lima-provider needs:
#   - bubblewrap (bwrap) and the OpenSSH client, from Debian packages;
#   - iptables (the Lima backend's host firewall, and its test in a network namespace);
#   - OpenSSH's sshd, downloaded as .deb files and unpacked (never installed) into
#     a fixed prefix, so that no ssh service is configured or started on the host.
# Idempotent: a second run only checks. Must run as root.
# Usage: install-sandbox-deps.sh [PREFIX]   (default /opt/xe-sandbox, or $XE_SANDBOX_PREFIX)
set -euo pipefail

PREFIX="${1:-${XE_SANDBOX_PREFIX:-/opt/xe-sandbox}}"
SSHD="$PREFIX/usr/sbin/sshd"

if [ "$(id -u)" -ne 0 ]; then
  echo "install-sandbox-deps: must run as root" >&2
  exit 1
fi

apt_updated=0
apt_update_once() {
  if [ "$apt_updated" -eq 0 ]; then
    apt-get update -qq
    apt_updated=1
  fi
}

# 1. bubblewrap and the ssh client (ssh, ssh-keygen) as ordinary packages.
if ! command -v bwrap >/dev/null 2>&1 || ! command -v ssh >/dev/null 2>&1 || ! command -v ssh-keygen >/dev/null 2>&1; then
  apt_update_once
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap openssh-client
fi
if ! command -v iptables >/dev/null 2>&1 || ! command -v iptables-restore >/dev/null 2>&1; then
  apt_update_once
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iptables
fi

# 2. sshd, unpacked into $PREFIX.
missing_libs() {
  LD_LIBRARY_PATH="$PREFIX/usr/lib/x86_64-linux-gnu:$PREFIX/lib/x86_64-linux-gnu" ldd "$SSHD" 2>/dev/null | awk '/not found/ {print $1}'
}

if [ ! -x "$SSHD" ] || [ -n "$(missing_libs)" ]; then
  apt_update_once
  work="$(mktemp -d)"
  chmod 755 "$work"; chown _apt "$work" 2>/dev/null || true  # apt-get download fetches as the _apt user
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$PREFIX"
  (cd "$work" && apt-get download -qq openssh-server openssh-sftp-server libwrap0)
  for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$PREFIX"; done
  # Any further shared library sshd needs that the host lacks: fetch its package too.
  for lib in $(missing_libs); do
    pkg="$(apt-cache search --names-only "^${lib%%.so*}" | awk 'NR==1 {print $1}')"
    if [ -z "$pkg" ]; then
      echo "install-sandbox-deps: no package found for $lib" >&2
      exit 1
    fi
    (cd "$work" && apt-get download -qq "$pkg")
    dpkg-deb -x "$work/$pkg"_*.deb "$PREFIX"
  done
  if [ -n "$(missing_libs)" ]; then
    echo "install-sandbox-deps: sshd still misses: $(missing_libs)" >&2
    exit 1
  fi
fi

echo "install-sandbox-deps: bwrap=$(command -v bwrap) sshd=$SSHD"
