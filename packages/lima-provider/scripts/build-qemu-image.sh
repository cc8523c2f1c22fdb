#!/usr/bin/env bash
# Builds the guest of the QEMU VM backend of @xe/lima-provider from Debian packages only:
#   - Debian's cloud kernel (linux-image-cloud-amd64) and the virtio modules it needs;
#   - busybox (busybox-static) as the whole userland;
#   - dropbear (dropbear-bin and the libraries it links) as the SSH server.
# Everything is fetched with `apt-get download` and unpacked with `dpkg-deb -x` (nothing is
# installed on the host, nothing comes from anywhere but the Debian archive). Output, in
# the image directory: vmlinuz, initrd.img (a gzip'd cpio whose /init sets the VM up from
# the kernel command line, copies itself onto the lease's disk and switches to it) and
# manifest.txt (the package versions used). Idempotent: an up-to-date image is kept.
#
# --full (for production): also a full Debian root file system, made by mmdebstrap (from
# Debian, installed here with apt-get) from Debian packages only: minbase + systemd,
# OpenSSH's server, iproute2 and procps, with the kernel's modules copied in. It is
# `rootfs.img` (an ext4 image of 1 GiB, sparse) beside the kernel and initrd, and the
# manifest says `root full`; the backend then boots it (systemd as init, OpenSSH's sshd)
# instead of the busybox userland. No host key is in the image: each VM makes its own at
# first boot. Takes minutes (not run in CI).
# Usage: build-qemu-image.sh [--full] [DIR]   (default $XE_QEMU_IMAGE_DIR or /var/cache/xe-node/qemu-image)
set -euo pipefail

FULL=''
if [ "${1:-}" = "--full" ]; then FULL=1; shift; fi
DIR="${1:-${XE_QEMU_IMAGE_DIR:-/var/cache/xe-node/qemu-image}}"
FORMAT=5  # bump when the guest's layout or /init changes

if [ -f "$DIR/manifest.txt" ] && grep -qx "format $FORMAT" "$DIR/manifest.txt" && [ -f "$DIR/vmlinuz" ] && [ -f "$DIR/initrd.img" ]; then
  if [ -z "$FULL" ] && ! grep -qx "root full" "$DIR/manifest.txt"; then
    echo "build-qemu-image: up to date in $DIR"
    exit 0
  fi
  if [ -n "$FULL" ] && grep -qx "root full" "$DIR/manifest.txt" && [ -f "$DIR/rootfs.img" ]; then
    echo "build-qemu-image: up to date in $DIR (full root)"
    exit 0
  fi
fi

mkdir -p "$DIR"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
chown _apt "$work" 2>/dev/null || true # apt-get download fetches as the _apt user when root

if [ "$(id -u)" -eq 0 ] && [ "${XE_SKIP_APT_UPDATE:-}" != 1 ]; then apt-get update -qq || true; fi

fetch() { (cd "$work" && apt-get download -qq "$@"); }

# The cloud kernel meta-package names the versioned kernel package it depends on.
fetch linux-image-cloud-amd64
kpkg="$(dpkg-deb -f "$work"/linux-image-cloud-amd64_*.deb Depends | tr ',' '\n' | sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -1)"
[ -n "$kpkg" ] || { echo "build-qemu-image: cannot find the kernel package behind linux-image-cloud-amd64" >&2; exit 1; }
fetch "$kpkg" busybox-static dropbear-bin libtomcrypt1 libtommath1 libgmp10 libc6 libcrypt1 zlib1g

x="$work/x"
mkdir -p "$x"
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$x"; done

kver="$(basename "$(ls -d "$x"/lib/modules/*)")"
root="$work/root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib/modules,lib/x86_64-linux-gnu,lib64,etc/dropbear,proc,sys,dev,newroot,root,tmp,run}
cp "$x/bin/busybox" "$root/bin/busybox"
cp "$x/usr/sbin/dropbear" "$root/usr/sbin/dropbear"
cp "$x/usr/bin/dropbearkey" "$root/usr/bin/dropbearkey"
# The libraries dropbear links, from the unpacked packages.
libdirs="$x/lib/x86_64-linux-gnu:$x/usr/lib/x86_64-linux-gnu"
for lib in $(LD_LIBRARY_PATH="$libdirs" ldd "$x/usr/sbin/dropbear" "$x/usr/bin/dropbearkey" | awk '/=>/ {print $1}' | sort -u); do
  src=""
  for d in "$x/lib/x86_64-linux-gnu" "$x/usr/lib/x86_64-linux-gnu"; do [ -e "$d/$lib" ] && { src="$d/$lib"; break; }; done
  [ -n "$src" ] || { echo "build-qemu-image: $lib is not in the downloaded packages" >&2; exit 1; }
  cp -L "$src" "$root/lib/x86_64-linux-gnu/$lib"
done
cp -L "$x/lib64/ld-linux-x86-64.so.2" "$root/lib64/" 2>/dev/null || cp -L "$x/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" "$root/lib64/"
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk failover net_failover virtio_net; do
  f="$(find "$x/lib/modules/$kver" -name "$m.ko*" | head -1 || true)"
  [ -n "$f" ] || continue # built into this kernel
  case "$f" in
    *.xz) xz -dc "$f" > "$root/lib/modules/$m.ko" ;;
    *.zst) zstd -qdc "$f" > "$root/lib/modules/$m.ko" ;;
    *) cp "$f" "$root/lib/modules/$m.ko" ;;
  esac
done

cat > "$root/init" <<'EOF'
#!/bin/busybox sh
# Stage 1 (initramfs): set the VM up from the kernel command line, put the userland on the
# lease's disk (/dev/vda, ext4 of exactly disk_gb) and switch to it.
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk failover net_failover virtio_net; do
  [ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko
done
HOST=xe; KEYS=''; PIDS=512; PROBE=''; FULL=''
for a in $(cat /proc/cmdline); do
  case "$a" in
    xe.host=*) HOST="${a#xe.host=}" ;;
    xe.key=*) KEYS="$KEYS ${a#xe.key=}" ;;
    xe.pids=*) PIDS="${a#xe.pids=}" ;;
    xe.probe=1) PROBE=1 ;;
    xe.root=full) FULL=1 ;;
  esac
done
if [ -n "$PROBE" ]; then echo XE-PROBE-OK > /dev/ttyS0; poweroff -f; fi
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
if ! mount -t ext4 /dev/vda /newroot; then echo "XE-FAILED no disk" > /dev/ttyS0; poweroff -f; fi
if [ -n "$FULL" ]; then
  # A full Debian root (rootfs.img): it has its own userland and init.
  # (/sbin/init is an absolute symlink into the root: test the link, not its target, from here.)
  if [ ! -L /newroot/sbin/init ] && [ ! -x /newroot/sbin/init ]; then echo "XE-FAILED no init on the full root" > /dev/ttyS0; poweroff -f; fi
  mkdir -p /newroot/root/.ssh; chmod 700 /newroot/root /newroot/root/.ssh
elif [ ! -x /newroot/bin/busybox ]; then
  for d in bin sbin usr lib lib64 init2; do cp -a /$d /newroot/; done
  mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/tmp /newroot/run /newroot/root/.ssh /newroot/etc/dropbear
  chmod 1777 /newroot/tmp; chmod 700 /newroot/root /newroot/root/.ssh
  printf 'root:x:0:0:root:/root:/bin/sh\n' > /newroot/etc/passwd
  printf 'root:x:0:\n' > /newroot/etc/group
  printf 'root:*:19000:0:99999:7:::\n' > /newroot/etc/shadow; chmod 600 /newroot/etc/shadow
  echo /bin/sh > /newroot/etc/shells
fi
: > /newroot/root/.ssh/authorized_keys
for k in $KEYS; do echo "ssh-ed25519 $k" >> /newroot/root/.ssh/authorized_keys; done
chmod 600 /newroot/root/.ssh/authorized_keys
echo "$HOST" > /newroot/etc/hostname
printf '127.0.0.1 localhost %s\n' "$HOST" > /newroot/etc/hosts
echo "$PIDS" > /newroot/etc/xe-pids-max
# Full root: every process and thread of the VM counts against this (root is not exempt).
[ -n "$FULL" ] && echo "$PIDS" > /proc/sys/kernel/threads-max
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
[ -n "$FULL" ] && exec switch_root /newroot /sbin/init
exec switch_root /newroot /init2
EOF
cat > "$root/init2" <<'EOF'
#!/bin/sh
# Stage 2 (on the lease's disk): network, limits, a host key of this VM, dropbear on :22.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
hostname "$(cat /etc/hostname)"
ip link set lo up
ip link set eth0 up 2>/dev/null && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2
# QEMU runs the user-mode network with restrict=on: nothing behind 10.0.2.2 answers.
# Every process and thread of the VM counts against this (root is not exempt).
cat /etc/xe-pids-max > /proc/sys/kernel/threads-max
K=/etc/dropbear/dropbear_ed25519_host_key
[ -f $K ] || dropbearkey -t ed25519 -f $K > /dev/null 2>&1
echo "XE-HOSTKEY $(dropbearkey -y -f $K | grep '^ssh-ed25519' | cut -d' ' -f1-2)" > /dev/ttyS0
dropbear -E -s -p 22 -r $K 2>/dev/null
echo XE-READY > /dev/ttyS0
while :; do sleep 3600; done
EOF
chmod 755 "$root/init" "$root/init2"

(cd "$root" && find . | "$root/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1) > "$work/initrd.img"
cp "$x/boot/vmlinuz-$kver" "$work/vmlinuz"

if [ -n "$FULL" ]; then
  # The full Debian root: mmdebstrap (a Debian package) builds it from Debian packages only.
  [ "$(id -u)" -eq 0 ] || { echo "build-qemu-image: --full must run as root (mmdebstrap, mkfs.ext4 -d)" >&2; exit 1; }
  if ! command -v mmdebstrap >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap
  fi
  suite="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
  full="$work/full"
  [ -n "$work" ] && [ -d "$work" ] || { echo "build-qemu-image: no work directory" >&2; exit 1; }
  mmdebstrap --quiet --variant=minbase \
    --include=systemd-sysv,openssh-server,iproute2,procps \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    "$suite" "$full" \
    "deb http://deb.debian.org/debian $suite main" \
    "deb http://deb.debian.org/debian $suite-updates main" \
    "deb http://deb.debian.org/debian-security $suite-security main"
  # The kernel's modules (the kernel itself is booted from the image directory).
  mkdir -p "$full/lib/modules"
  cp -a "$x/lib/modules/$kver" "$full/lib/modules/"
  # No host key in the image (every VM makes its own at first boot); a machine-id per VM.
  rm -f "$full"/etc/ssh/ssh_host_*
  : > "$full/etc/machine-id"
  rm -f "$full/var/lib/dbus/machine-id"
  printf '%s\n' 'HostKey /etc/ssh/ssh_host_ed25519_key' 'PermitRootLogin prohibit-password' \
    'PasswordAuthentication no' 'KbdInteractiveAuthentication no' 'UseDNS no' > "$full/etc/ssh/sshd_config.d/00-xe.conf"
  # Every boot, before sshd: the user-mode network (QEMU restricts it: nothing behind
  # 10.0.2.2 answers), this VM's own host key, and its public half on the serial console.
  printf '%s\n' '#!/bin/sh' \
    'ip link set lo up' \
    'ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2' \
    'K=/etc/ssh/ssh_host_ed25519_key' \
    "[ -f \$K ] || ssh-keygen -q -t ed25519 -N '' -f \$K" \
    'echo "XE-HOSTKEY $(cut -d" " -f1-2 $K.pub)" > /dev/ttyS0' > "$full/usr/local/sbin/xe-boot"
  chmod 755 "$full/usr/local/sbin/xe-boot"
  printf '%s\n' '[Unit]' 'Description=xe: network and host key' 'Before=ssh.service' \
    '[Service]' 'Type=oneshot' 'RemainAfterExit=yes' 'ExecStart=/usr/local/sbin/xe-boot' \
    '[Install]' 'WantedBy=multi-user.target' > "$full/etc/systemd/system/xe-boot.service"
  printf '%s\n' '[Unit]' 'Description=xe: ready' 'After=ssh.service xe-boot.service' 'Requires=ssh.service' \
    '[Service]' 'Type=oneshot' "ExecStart=/bin/sh -c 'echo XE-READY > /dev/ttyS0'" \
    '[Install]' 'WantedBy=multi-user.target' > "$full/etc/systemd/system/xe-ready.service"
  mkdir -p "$full/etc/systemd/system/multi-user.target.wants"
  ln -sf /etc/systemd/system/xe-boot.service "$full/etc/systemd/system/multi-user.target.wants/xe-boot.service"
  ln -sf /etc/systemd/system/xe-ready.service "$full/etc/systemd/system/multi-user.target.wants/xe-ready.service"
  # Nothing on the serial console but those lines; no timers reaching for the network.
  for u in serial-getty@ttyS0.service getty@tty1.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer; do
    ln -sf /dev/null "$full/etc/systemd/system/$u"
  done
  fullpkgs="$(chroot "$full" dpkg-query -W -f '${Package}\n' | wc -l)"
  # An ext4 image of 1 GiB (the minimum disk); the backend grows a copy to each lease's disk_gb.
  truncate -s 1G "$work/rootfs.img"
  mkfs.ext4 -q -F -m 0 -L xe-root -d "$full" "$work/rootfs.img"
fi

{
  echo "format $FORMAT"
  echo "kernel $kver"
  if [ -n "$FULL" ]; then
    echo "root full"
    echo "root packages: $fullpkgs (mmdebstrap $suite minbase + systemd-sysv openssh-server iproute2 procps)"
  fi
  for deb in "$work"/*.deb; do dpkg-deb -f "$deb" Package Version | paste -sd' '; done
} > "$work/manifest.txt"
# Replace atomically-ish: the manifest last, so a half-written image is never "up to date".
rm -f "$DIR/manifest.txt"
mv "$work/vmlinuz" "$DIR/vmlinuz"
mv "$work/initrd.img" "$DIR/initrd.img"
if [ -n "$FULL" ]; then mv "$work/rootfs.img" "$DIR/rootfs.img"; else rm -f "$DIR/rootfs.img"; fi
mv "$work/manifest.txt" "$DIR/manifest.txt"
chmod 644 "$DIR"/*
echo "build-qemu-image: $DIR (kernel $kver, $(du -sh "$DIR/initrd.img" | cut -f1) initrd${FULL:+, full root})"
