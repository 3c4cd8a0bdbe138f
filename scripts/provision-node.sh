#!/usr/bin/env bash
# Sourced by .ci/run, scripts/start and the `castellan` launcher: puts Node 24 first on PATH. The
# npm registry's `node` package carries the official binary; it is installed into the git-ignored
# .tools/ folder, so nothing needs to be installed by hand. A machine that already runs Node ≥ 22.12
# still gets the pinned version, so every run uses the same runtime.
#
# Quiet unless it installs: then one line, and npm's own messages, go to stderr — never stdout,
# which belongs to the command that sourced this (`castellan mint … > tok` must hold the token).
# The installed version is recorded in .tools/node24/.version, so the check on every later run
# reads one small file instead of starting node (~30 ms, which the CLI's start cannot afford).
CASTELLAN_NODE_VERSION="24.21.0"
_castellan_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_castellan_tools="$_castellan_root/.tools/node24"
_castellan_installed=""
[ -r "$_castellan_tools/.version" ] && read -r _castellan_installed <"$_castellan_tools/.version"
if [ "$_castellan_installed" != "$CASTELLAN_NODE_VERSION" ] || [ ! -x "$_castellan_tools/node_modules/.bin/node" ]; then
  # An install made before the stamp existed: ask the binary once.
  if [ -x "$_castellan_tools/node_modules/.bin/node" ] &&
    [ "$("$_castellan_tools/node_modules/.bin/node" --version 2>/dev/null)" = "v$CASTELLAN_NODE_VERSION" ]; then
    echo "$CASTELLAN_NODE_VERSION" >"$_castellan_tools/.version"
  else
    echo "castellan: installing Node $CASTELLAN_NODE_VERSION from the npm registry into .tools/ (once)" >&2
    rm -rf "$_castellan_tools"
    mkdir -p "$_castellan_tools"
    if ! npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$_castellan_tools" \
      "node@$CASTELLAN_NODE_VERSION" >/dev/null; then
      echo "castellan: could not install Node $CASTELLAN_NODE_VERSION (is npm on PATH and the npm registry reachable?)" >&2
      return 1 2>/dev/null || exit 1
    fi
    echo "$CASTELLAN_NODE_VERSION" >"$_castellan_tools/.version"
  fi
fi
unset _castellan_installed
export PATH="$_castellan_tools/node_modules/.bin:$PATH"
