#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the storage tests (issue 14): socket only, fsync off, in the
# repository's git-ignored .tmp/, owned by an unprivileged user (initdb refuses root).
#
#   scripts/pg-test-cluster.sh start          start one; prints its URL (and keeps state in .tmp/)
#   scripts/pg-test-cluster.sh url            the running cluster's URL
#   scripts/pg-test-cluster.sh stop           stop it and remove its data and socket folders
#   scripts/pg-test-cluster.sh run -- CMD...  start a private cluster, run CMD with
#                                             CASTELLAN_TEST_DATABASE_URL set, stop it (even when
#                                             CMD fails or is interrupted) and exit with CMD's status
#
# As root (this machine, CI) the cluster runs as the `postgres` system user (created when
# missing); as anyone else it runs as that user. PostgreSQL 15 or later is installed from Debian
# with apt-get when initdb/pg_ctl cannot be found (root only).
#
# Sourcing this file defines the functions (pgtc_start, pgtc_stop, pgtc_run) without running any
# (and without changing the sourcing shell's options).

PGTC_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PGTC_TMP="$PGTC_REPO/.tmp"
PGTC_STATE="$PGTC_TMP/pg-cluster.env"
# Unix socket paths are limited to 107 bytes (sun_path); PostgreSQL adds "/.s.PGSQL.5432".
PGTC_SOCKET_MAX=92

pgtc_log() { printf 'pg-test-cluster: %s\n' "$*" >&2; }
pgtc_die() { pgtc_log "$*"; exit 1; }

# Finds initdb/pg_ctl/postgres: PATH first, then Debian's versioned folders (newest first).
pgtc_find_bin() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v initdb)")"
    return 0
  fi
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -rn); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  return 1
}

pgtc_install() {
  local sudo=''
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || pgtc_die "PostgreSQL is not installed, and installing it needs root (apt-get install postgresql)"
    sudo='sudo'
  fi
  pgtc_log "installing PostgreSQL from Debian (apt-get)"
  # The server without Debian's auto-created cluster: we make our own.
  $sudo mkdir -p /etc/postgresql-common/createcluster.d
  echo 'create_main_cluster = false' | $sudo tee /etc/postgresql-common/createcluster.d/castellan-no-main.conf >/dev/null
  $sudo apt-get update -qq >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
}

# The user the server runs as: ourselves, or (as root) the postgres system user.
pgtc_run_as_user() {
  if [ "$(id -u)" -ne 0 ]; then id -un; return; fi
  if ! id postgres >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /nonexistent --shell /usr/sbin/nologin postgres >&2
  fi
  echo postgres
}

# Runs a command as $PGTC_USER (directly when that is us).
pgtc_as() {
  if [ "$(id -un)" = "$PGTC_USER" ]; then "$@"
  elif command -v runuser >/dev/null 2>&1; then runuser -u "$PGTC_USER" -- "$@"
  else su -s /bin/sh "$PGTC_USER" -c "$(printf '%q ' "$@")"
  fi
}

# Starts a cluster; sets PGTC_DATA, PGTC_SOCK, PGTC_SOCK_IS_MKTEMP, PGTC_URL, PGTC_USER, PGTC_BIN.
pgtc_start_cluster() {
  PGTC_BIN="$(pgtc_find_bin || true)"
  if [ -z "$PGTC_BIN" ]; then pgtc_install; PGTC_BIN="$(pgtc_find_bin)" || pgtc_die "initdb not found after installing"; fi
  PGTC_USER="$(pgtc_run_as_user)"
  mkdir -p "$PGTC_TMP"
  PGTC_BASE="$(mktemp -d "$PGTC_TMP/pg-XXXXXX")"
  chmod 755 "$PGTC_BASE"
  PGTC_DATA="$PGTC_BASE/data"
  PGTC_SOCK="$PGTC_BASE/s"
  PGTC_SOCK_IS_MKTEMP=0
  if [ "${#PGTC_SOCK}" -gt "$PGTC_SOCKET_MAX" ]; then
    PGTC_SOCK="$(mktemp -d /tmp/cpg.XXXXXX)"
    PGTC_SOCK_IS_MKTEMP=1
  else
    mkdir "$PGTC_SOCK"
  fi
  mkdir "$PGTC_DATA"
  # Only the server's user can reach the socket (root can anyway): trust auth is safe there.
  chown "$PGTC_USER" "$PGTC_DATA" "$PGTC_SOCK"
  chmod 700 "$PGTC_DATA" "$PGTC_SOCK"
  # The cluster's files must be readable by their owner even from inside a root-only checkout.
  if ! pgtc_as test -x "$PGTC_BASE"; then
    pgtc_die "user $PGTC_USER cannot reach $PGTC_BASE (a parent folder is not searchable)"
  fi
  pgtc_as "$PGTC_BIN/initdb" -D "$PGTC_DATA" -U castellan --auth=trust --no-sync \
    --encoding=UTF8 --locale=C.UTF-8 >"$PGTC_BASE/initdb.log" 2>&1 \
    || { cat "$PGTC_BASE/initdb.log" >&2; pgtc_cleanup; pgtc_die "initdb failed"; }
  # -k: the private socket folder; -c listen_addresses='': no TCP at all.
  if ! pgtc_as "$PGTC_BIN/pg_ctl" -D "$PGTC_DATA" -l "$PGTC_DATA/server.log" -w -t 60 \
      -o "-k $PGTC_SOCK -c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60" \
      start >/dev/null; then
    cat "$PGTC_DATA/server.log" >&2 || true
    pgtc_cleanup
    pgtc_die "the server did not start"
  fi
  pgtc_as "$PGTC_BIN/psql" -X -q -h "$PGTC_SOCK" -U castellan -d postgres -c 'CREATE DATABASE castellan' >/dev/null
  PGTC_URL="postgres://castellan@localhost/castellan?host=$PGTC_SOCK"
}

# Stops the server and removes every folder pgtc_start_cluster made. Safe to call twice.
pgtc_cleanup() {
  if [ -n "${PGTC_DATA:-}" ] && [ -f "$PGTC_DATA/postmaster.pid" ]; then
    pgtc_as "$PGTC_BIN/pg_ctl" -D "$PGTC_DATA" -m immediate -w -t 60 stop >/dev/null 2>&1 || true
  fi
  if [ "${PGTC_SOCK_IS_MKTEMP:-0}" = 1 ] && [ -n "${PGTC_SOCK:-}" ]; then rm -rf -- "$PGTC_SOCK"; fi
  if [ -n "${PGTC_BASE:-}" ]; then rm -rf -- "$PGTC_BASE"; fi
  PGTC_DATA='' PGTC_SOCK='' PGTC_BASE=''
}

pgtc_start() {
  if [ -f "$PGTC_STATE" ]; then
    # shellcheck disable=SC1090
    . "$PGTC_STATE"
    if [ -f "$PGTC_DATA/postmaster.pid" ]; then pgtc_die "a cluster is already running: $PGTC_URL (stop it first)"; fi
    rm -f "$PGTC_STATE"
  fi
  pgtc_start_cluster
  {
    printf 'PGTC_BIN=%q\nPGTC_USER=%q\nPGTC_BASE=%q\nPGTC_DATA=%q\n' "$PGTC_BIN" "$PGTC_USER" "$PGTC_BASE" "$PGTC_DATA"
    printf 'PGTC_SOCK=%q\nPGTC_SOCK_IS_MKTEMP=%q\nPGTC_URL=%q\n' "$PGTC_SOCK" "$PGTC_SOCK_IS_MKTEMP" "$PGTC_URL"
  } > "$PGTC_STATE"
  echo "$PGTC_URL"
}

pgtc_stop() {
  [ -f "$PGTC_STATE" ] || { pgtc_log "no cluster is running"; return 0; }
  # shellcheck disable=SC1090
  . "$PGTC_STATE"
  pgtc_cleanup
  rm -f "$PGTC_STATE"
  pgtc_log "stopped and removed"
}

pgtc_url() {
  [ -f "$PGTC_STATE" ] || pgtc_die "no cluster is running (scripts/pg-test-cluster.sh start)"
  # shellcheck disable=SC1090
  . "$PGTC_STATE"
  echo "$PGTC_URL"
}

pgtc_run() {
  [ "$#" -gt 0 ] || pgtc_die "usage: pg-test-cluster.sh run -- COMMAND [ARGS...]"
  PGTC_CHILD=''
  trap 'pgtc_cleanup' EXIT
  # On a signal: stop the command, then the cluster, then die of the same signal.
  trap 'pgtc_interrupted INT' INT
  trap 'pgtc_interrupted TERM' TERM
  trap 'pgtc_interrupted HUP' HUP
  pgtc_start_cluster
  pgtc_log "cluster up: $PGTC_URL"
  local status=0
  # In the background and waited for, so a signal to this script is handled at once (bash runs
  # traps only between commands, and `wait` is interruptible where a foreground command is not).
  CASTELLAN_TEST_DATABASE_URL="$PGTC_URL" "$@" &
  PGTC_CHILD=$!
  wait "$PGTC_CHILD" || status=$?
  PGTC_CHILD=''
  pgtc_cleanup
  trap - EXIT INT TERM HUP
  return "$status"
}

pgtc_interrupted() {
  if [ -n "${PGTC_CHILD:-}" ]; then
    kill -TERM "$PGTC_CHILD" 2>/dev/null || true
    wait "$PGTC_CHILD" 2>/dev/null || true
  fi
  pgtc_cleanup
  trap - EXIT INT TERM HUP "$1"
  kill -"$1" $$
}

pgtc_main() {
  local cmd="${1:-}"
  shift || true
  case "$cmd" in
    start) pgtc_start ;;
    stop) pgtc_stop ;;
    url) pgtc_url ;;
    run)
      [ "${1:-}" = "--" ] && shift
      pgtc_run "$@"
      ;;
    *) pgtc_die "usage: pg-test-cluster.sh start | stop | url | run -- COMMAND [ARGS...]" ;;
  esac
}

# Run only when executed, not when sourced.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  pgtc_main "$@"
fi
