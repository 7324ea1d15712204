#!/usr/bin/env bash
# The Debian packages the tests need, installed with apt when missing (idempotent, quiet when all are
# there). Called by scripts/test.js before any suite and by scripts/setup-code-server.sh.
set -euo pipefail
log() { printf '[setup-system] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# libkrb5-dev: headers for the `kerberos` native module; ripgrep: replaces the
# GitHub download of @vscode/ripgrep; chromium: the browser playwright drives,
# and its SwiftShader (a software Vulkan device) for the WebGPU test; libvulkan1:
# the Vulkan loader the WebGPU provider opens.
apt_missing=()
for pkg in libkrb5-dev ripgrep chromium libvulkan1; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    apt_missing+=("$pkg")
  fi
done
if ((${#apt_missing[@]})); then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "need root (or sudo) to install: ${apt_missing[*]}"
    SUDO="sudo"
  fi
  log "apt-get install ${apt_missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Another apt/dpkg may hold the lock (e.g. a parallel setup): wait for it.
  apt_opts=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
  apt_retry() {
    local i
    for i in 1 2 3 4 5 6; do
      "$@" && return 0
      log "apt busy or failed (try $i), retrying in 10 s"; sleep 10
    done
    return 1
  }
  apt_retry $SUDO apt-get "${apt_opts[@]}" update -qq || die "apt-get update failed"
  apt_retry $SUDO apt-get "${apt_opts[@]}" install -y -qq "${apt_missing[@]}" >/dev/null \
    || die "apt-get install ${apt_missing[*]} failed"
fi
[ -x /usr/bin/rg ] || die "/usr/bin/rg missing after apt"
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium missing after apt"
[ -f /usr/lib/chromium/vk_swiftshader_icd.json ] || die "chromium's SwiftShader (vk_swiftshader_icd.json) missing after apt"
