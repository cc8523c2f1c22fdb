#!/usr/bin/env bash
# Installs what the QEMU VM backend of @xe/lima-provider needs and builds its guest image:
#   - qemu-system-x86 and qemu-utils (qemu-img) and the OpenSSH client, from Debian;
#   - the guest (cloud kernel + busybox + dropbear, from Debian packages) via build-qemu-image.sh.
# Idempotent: a second run only checks. Must run as root.
# Usage: install-qemu.sh [IMAGE_DIR]   (default $XE_QEMU_IMAGE_DIR or /var/cache/xe-node/qemu-image)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

if [ "$(id -u)" -ne 0 ]; then
  echo "install-qemu: must run as root" >&2
  exit 1
fi

if ! command -v qemu-system-x86_64 >/dev/null 2>&1 || ! command -v qemu-img >/dev/null 2>&1 || ! command -v ssh >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 qemu-utils openssh-client
  export XE_SKIP_APT_UPDATE=1
fi

bash "$here/build-qemu-image.sh" "$@"
echo "install-qemu: qemu=$(command -v qemu-system-x86_64)"
