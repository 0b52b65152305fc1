#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and benchmarks: one data directory, one free loopback port,
# trust authentication, gone when stopped. Installs the server package (apt-get) when it is missing.
#
#   scripts/throwaway-postgres.sh start DIR [--watch PID]   prints the URL (postgres://postgres@127.0.0.1:PORT/postgres)
#   scripts/throwaway-postgres.sh stop DIR                  stops the server and removes DIR
#
# DIR must not exist or be empty; its parent must be reachable by the `postgres` user when run as root
# (initdb refuses to run as root, so the server then runs as `postgres`). With --watch PID, a watchdog
# stops the server and removes DIR once process PID has exited, so a test process that cannot run
# teardown code (a killed one, or a Rust test binary) leaves nothing behind. Used by .ci/run, the Rust
# PostgreSQL tests (crates/ec2-store/tests/postgres.rs) and the e2e tests (tests/e2e/pg.py).
set -euo pipefail

die() { echo "throwaway-postgres: $*" >&2; exit 1; }

pg_bindir() {
    local d
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v pg_ctl)"
        return
    fi
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            echo "$d"
            return
        fi
    done
    return 1
}

find_or_install() {
    if pg_bindir; then return; fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "throwaway-postgres: installing the PostgreSQL server (apt-get install postgresql)" >&2
        export DEBIAN_FRONTEND=noninteractive
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql; } >&2 \
            || die "apt-get install postgresql failed"
        pg_bindir && return
    fi
    die "initdb and pg_ctl not found (install the PostgreSQL server, e.g. apt-get install postgresql)"
}

# Runs a command as the server's owner: `postgres` when we are root, ourselves otherwise.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
    local dir=$1 watch=${2:-}
    local bin
    bin=$(find_or_install)
    mkdir -p "$dir"
    [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
    chmod 700 "$dir"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user to own the server"
        chown postgres: "$dir"
    fi
    as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
        || die "initdb failed: $(cat "$dir/initdb.log")"
    local port tries=0
    while :; do
        tries=$((tries + 1))
        port=$((20000 + RANDOM % 40000))
        port_in_use "$port" && continue
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -s start \
            -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=300" \
            >/dev/null 2>&1; then
            break
        fi
        [ "$tries" -lt 5 ] || die "the server did not start: $(tail -n 20 "$dir/server.log" 2>/dev/null)"
    done
    echo "$bin" >"$dir/bindir"
    if [ -n "$watch" ]; then
        # Detached (own session, no inherited output) so that it outlives whoever started it.
        setsid nohup "$0" _watch "$dir" "$watch" </dev/null >/dev/null 2>&1 &
    fi
    echo "postgres://postgres@127.0.0.1:$port/postgres"
}

stop() {
    local dir=$1
    [ -d "$dir" ] || return 0
    if [ -f "$dir/bindir" ] && [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$(cat "$dir/bindir")/pg_ctl" -D "$dir/data" -m fast -w -s stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    start)
        [ $# -ge 2 ] || die "usage: $0 start DIR [--watch PID]"
        if [ "${3:-}" = "--watch" ]; then start "$2" "${4:?--watch needs a PID}"; else start "$2"; fi
        ;;
    stop)
        [ $# -ge 2 ] || die "usage: $0 stop DIR"
        stop "$2"
        ;;
    _watch)
        while kill -0 "$3" 2>/dev/null; do sleep 1; done
        stop "$2"
        ;;
    *) die "usage: $0 start DIR [--watch PID] | stop DIR" ;;
esac
