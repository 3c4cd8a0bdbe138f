#!/usr/bin/env bash
# Sourced by .ci/run and scripts/start: puts Node 24 first on PATH. The npm registry's `node`
# package carries the official binary; it is installed into the git-ignored .tools/ folder,
# so nothing needs to be installed by hand. A machine that already runs Node ≥ 22.12 still
# gets the pinned version, so every run uses the same runtime.
CASTELLAN_NODE_VERSION="24.21.0"
_castellan_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_castellan_tools="$_castellan_root/.tools/node24"
if [ ! -x "$_castellan_tools/node_modules/.bin/node" ] ||
  [ "$("$_castellan_tools/node_modules/.bin/node" --version 2>/dev/null)" != "v$CASTELLAN_NODE_VERSION" ]; then
  echo "castellan: installing Node $CASTELLAN_NODE_VERSION from the npm registry into .tools/" >&2
  rm -rf "$_castellan_tools"
  mkdir -p "$_castellan_tools"
  npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$_castellan_tools" \
    "node@$CASTELLAN_NODE_VERSION" >/dev/null
fi
export PATH="$_castellan_tools/node_modules/.bin:$PATH"
