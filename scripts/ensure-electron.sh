#!/usr/bin/env bash
# Makes sure Electron's binary is in node_modules/electron/dist (called by scripts/start; needs
# Node on PATH and `npm ci` done). Electron 45 does not download it at `npm ci`: it fetches it
# (~100 MB, once) the first time it starts. Fetching it here, saying so first, means a machine
# without internet learns it in seconds, in one sentence that says what to do — not after a 30 s
# build, from a stack trace. Honours ELECTRON_MIRROR (and electron_config_cache for the cache).
set -euo pipefail
cd "$(dirname "$0")/.."

electron_version="$(node -p "require('./node_modules/electron/package.json').version")"
installed="$(cat node_modules/electron/dist/version 2>/dev/null || true)"
if [ "${installed#v}" = "$electron_version" ] && [ -f node_modules/electron/path.txt ]; then
  exit 0
fi
echo "castellan: the first launch downloads Electron's binary (~100 MB, once) from ${ELECTRON_MIRROR:-GitHub (set ELECTRON_MIRROR to use a mirror)}..." >&2
log="$(mktemp "${TMPDIR:-/tmp}/electron-download.XXXXXX")"
if ! ELECTRON_GET_NO_PROGRESS=1 node node_modules/electron/install.js >"$log" 2>&1; then
  echo "castellan: could not download Electron $electron_version's binary: check the network connection (and HTTPS_PROXY if you use a proxy), or set ELECTRON_MIRROR to a reachable mirror of Electron's releases, or use the command-line interface, which needs no Electron: ./castellan --help (the downloader's own message is in $log)." >&2
  exit 1
fi
rm -f "$log"
echo "castellan: Electron's binary is installed" >&2
