#!/usr/bin/env bash
# Install whatever a fresh Debian 12 machine is missing, then build.
# Safe to run again: each step checks first.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v nsenter >/dev/null 2>&1 || need+=(util-linux)
# Tests and benchmarks: traffic checks, process counting, and the peers
# (CNI bridge plugin, netavark with its iptables backend) measured side by side.
if [ "${LNETD_WITH_TEST_TOOLS:-0}" = 1 ]; then
  command -v ping >/dev/null 2>&1 || need+=(iputils-ping)
  command -v curl >/dev/null 2>&1 || need+=(curl)
  command -v strace >/dev/null 2>&1 || need+=(strace)
  command -v iptables >/dev/null 2>&1 || need+=(iptables)
  [ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
  [ -x /usr/lib/podman/netavark ] || need+=(netavark)
  # dns kernel tests query from inside sandboxes with dig; aardvark-dns (the DNS bench peer) comes with netavark
  command -v dig >/dev/null 2>&1 || need+=(bind9-dnsutils)
  # runtime e2e: podman 4.3 with runc (crun 1.8.1 refuses hybrid cgroups) and a tiny offline image
  command -v podman >/dev/null 2>&1 || need+=(podman)
  command -v runc >/dev/null 2>&1 || need+=(runc)
  dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
  # runtime e2e: containerd 1.6 (ctr run --cni) with lnetd-cni
  command -v containerd >/dev/null 2>&1 || need+=(containerd)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "lnetd setup: need root to install ${need[*]}" >&2; exit 1; fi
  echo "lnetd setup: installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null; }
fi

stamp=node_modules/.lnetd-installed
if [ ! -f "$stamp" ] || [ package.json -nt "$stamp" ] || { [ -f package-lock.json ] && [ package-lock.json -nt "$stamp" ]; }; then
  echo "lnetd setup: installing npm dependencies" >&2
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >&2; else npm install --no-audit --no-fund >&2; fi
  touch "$stamp"
fi

bash scripts/build.sh
