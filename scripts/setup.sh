#!/bin/sh
# Installs what apidhcpd, its demo and its tests need on a Debian machine (run as root):
# the Debian packages (only when missing), then a virtualenv in .venv with the project.
set -eu
cd "$(dirname "$0")/.."

PACKAGES="python3 python3-venv python3-dev gcc redis-server redis-tools iproute2 procps
isc-dhcp-client busybox dhcpcd-base isc-dhcp-relay kea-admin kea-dhcp4-server kea-dhcp6-server
curl tcpdump
qemu-system-x86 ipxe-qemu ovmf ipxe tftpd-hpa"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing Debian packages:$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check --upgrade pip >/dev/null
.venv/bin/pip install -q --disable-pip-version-check '.[test]'
# pip leaves a build/ tree behind when installing from a source folder
rm -rf build
