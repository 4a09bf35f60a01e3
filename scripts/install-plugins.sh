#!/usr/bin/env bash
# npm run install-plugins: put lnetd's runtime plug-ins where the runtimes look.
#   netavark: dist/plugins/netavark/main.js as `netavark` in a directory of its
#   own (default /usr/local/libexec/lnetd; LNETD_NETAVARK_DIR or
#   --netavark-dir DIR), which podman finds through helper_binaries_dir in
#   containers.conf or CONTAINERS_HELPER_BINARY_DIR.
#   lnetd-cni: dist/plugins/cni/main.js as `lnetd-cni` in the CNI plug-in
#   directories (default /opt/cni/bin and /usr/lib/cni; LNETD_CNI_DIRS, or
#   --cni-dir DIR, repeatable), where containerd, podman's CNI backend and
#   kubelet look for a network config's "type".
# With no directory flag both are installed in their default places; with
# any, only the plug-ins whose directory was given (tests install into tmp).
# Each plug-in is a small shell wrapper that runs this checkout's build with
# this node (absolute paths: podman's PATH need not have node). Written to a
# temporary name and renamed, so a runtime never runs a half-written file.
# --socket PATH (or LNETD_SOCKET when installing) is written into the wrapper
# as the daemon's socket unless the caller's LNETD_SOCKET says otherwise:
# podman runs teardown from `podman container cleanup`, which conmon starts
# without the user's environment.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
netavark_dir=${LNETD_NETAVARK_DIR:-/usr/local/libexec/lnetd}
socket=${LNETD_SOCKET:-}
cni_dirs=()
picked=0
want_netavark=1
want_cni=1
while [ $# -gt 0 ]; do
  case "$1" in
    --netavark-dir) netavark_dir=$2; picked=$((picked | 1)); shift 2 ;;
    --netavark-dir=*) netavark_dir=${1#*=}; picked=$((picked | 1)); shift ;;
    --cni-dir) cni_dirs+=("$2"); picked=$((picked | 2)); shift 2 ;;
    --cni-dir=*) cni_dirs+=("${1#*=}"); picked=$((picked | 2)); shift ;;
    --socket) socket=$2; shift 2 ;;
    --socket=*) socket=${1#*=}; shift ;;
    *) echo "install-plugins: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ "$picked" -ne 0 ]; then
  [ $((picked & 1)) -ne 0 ] || want_netavark=0
  [ $((picked & 2)) -ne 0 ] || want_cni=0
fi
if [ ${#cni_dirs[@]} -eq 0 ]; then read -r -a cni_dirs <<<"${LNETD_CNI_DIRS:-/opt/cni/bin /usr/lib/cni}"; fi
{ [ -f dist/plugins/netavark/main.js ] && [ -f dist/plugins/cni/main.js ]; } || bash scripts/build.sh
node=$(command -v node)

# install_wrapper DIR NAME ENTRY: DIR/NAME runs `node ENTRY "$@"`
install_wrapper() {
  local dir=$1 name=$2 entry=$3
  mkdir -p "$dir"
  local tmp
  tmp=$(mktemp "$dir/.$name.XXXXXX")
  {
    printf '#!/bin/sh\n'
    [ -n "$socket" ] && printf 'LNETD_SOCKET=${LNETD_SOCKET:-%q}\nexport LNETD_SOCKET\n' "$socket"
    printf 'exec %q %q "$@"\n' "$node" "$root/$entry"
  } >"$tmp"
  chmod 0755 "$tmp"
  mv -f "$tmp" "$dir/$name"
  echo "install-plugins: $dir/$name -> $root/$entry" >&2
}

[ "$want_netavark" -eq 1 ] && install_wrapper "$netavark_dir" netavark dist/plugins/netavark/main.js
if [ "$want_cni" -eq 1 ]; then
  for dir in "${cni_dirs[@]}"; do install_wrapper "$dir" lnetd-cni dist/plugins/cni/main.js; done
fi
exit 0
