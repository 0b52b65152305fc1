#!/usr/bin/env bash
# The two-node PostgreSQL bench with the database's side of it, per phase: commits, rollbacks and
# serialization failures (from the server log, with their reason codes), rows written, WAL bytes,
# statements (pg_stat_statements: calls, rows, time), heap-only updates, and what the ec2d sessions
# were waiting for (pg_stat_activity sampled every 50 ms).
#
#   scripts/postgres-bench-stats.sh OUT [EC2D [BENCH]] [-- BENCH-ARGS...]
#
# Starts a fresh throwaway PostgreSQL (scripts/throwaway-postgres.sh) with pg_stat_statements loaded,
# runs `BENCH --scenario postgres --store URL --ec2d EC2D BENCH-ARGS`, writes everything under OUT
# (bench.txt, db.txt, statements-*, waits, server.log), prints bench.txt and db.txt, and stops the server.
# With REUSE=1 it runs the bench twice on the same server and reports the second run (a reused database).
# PG_SET="name=value ..." sets server parameters first (ALTER SYSTEM, e.g. max_pred_locks_per_page=8);
# SETUP_SQL="..." runs SQL after EC2D has created its schema (started once and stopped), e.g. a fillfactor.
set -u
OUT=$1; shift
BIN=target/release/ec2d; BENCH=target/release/ec2d-bench
if [ $# -gt 0 ] && [ "$1" != "--" ]; then BIN=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" != "--" ]; then BENCH=$1; shift; fi
[ "${1:-}" = "--" ] && shift
mkdir -p "$OUT"
DIR=$(mktemp -d /tmp/ec2d-pgstats.XXXXXX); rmdir "$DIR"
URL=$(scripts/throwaway-postgres.sh start "$DIR") || exit 1
trap 'scripts/throwaway-postgres.sh stop "$DIR"' EXIT
Q() { psql "$URL" -XAtqc "$1"; }
Q "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >/dev/null
for kv in ${PG_SET:-}; do Q "ALTER SYSTEM SET ${kv%%=*} = '${kv#*=}'" >/dev/null; done
if [ "$(id -u)" = 0 ]; then OWNER=(runuser -u postgres --); else OWNER=(); fi
"${OWNER[@]}" "$(cat "$DIR/bindir")/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -s restart >/dev/null 2>&1
Q "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
if [ -n "${SETUP_SQL:-}" ]; then
    "$BIN" serve --store "$URL" --port 0 >"$OUT/setup.log" 2>&1 &
    SP=$!
    for _ in $(seq 100); do Q "SELECT 1 FROM meta WHERE key = 'schema_version'" 2>/dev/null | grep -q 1 && break; sleep 0.1; done
    kill $SP; wait $SP 2>/dev/null
    Q "$SETUP_SQL" >/dev/null
fi
snap() { Q "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, pg_current_wal_lsn() - '0/0'::pg_lsn FROM pg_stat_database WHERE datname = current_database()"; }
statements() { Q "SELECT calls, rows, round(total_exec_time::numeric, 1), left(regexp_replace(query, '\s+', ' ', 'g'), 110) FROM pg_stat_statements ORDER BY calls DESC LIMIT 25"; }
if [ "${REUSE:-}" = 1 ]; then "$BENCH" --scenario postgres --store "$URL" --ec2d "$BIN" "$@" >/dev/null 2>&1; fi
Q "SELECT pg_stat_statements_reset()" >/dev/null; Q "SELECT pg_stat_reset()" >/dev/null
: >"$OUT/waits"
( while :; do Q "SELECT coalesce(wait_event_type, 'CPU') || ':' || coalesce(wait_event, '-') FROM pg_stat_activity WHERE application_name = 'ec2d' AND state = 'active'" >>"$OUT/waits" 2>/dev/null; sleep 0.05; done ) &
SAMPLER=$!
S0=$(snap); L0=$(wc -l <"$DIR/server.log")
"$BENCH" --scenario postgres --store "$URL" --ec2d "$BIN" "$@" >"$OUT/bench.txt" 2>"$OUT/bench.err" &
B=$!
S1=""; L1=$L0; W1=0
while kill -0 $B 2>/dev/null; do
    if [ -z "$S1" ] && grep -q "conflicting Stop/Start" "$OUT/bench.err"; then
        S1=$(snap); L1=$(wc -l <"$DIR/server.log"); W1=$(wc -l <"$OUT/waits"); statements >"$OUT/statements-launch"
    fi
    sleep 0.1
done
S2=$(snap); L2=$(wc -l <"$DIR/server.log")
kill $SAMPLER; wait $SAMPLER 2>/dev/null
statements >"$OUT/statements-all"
cp "$DIR/server.log" "$OUT/server.log"
failures() { sed -n "$(($1 + 1)),${2}p" "$DIR/server.log" | grep -c 'could not serialize'; }
reasons() { sed -n "$(($1 + 1)),${2}p" "$DIR/server.log" | grep -o 'Reason code: .*\|due to concurrent update' | sort | uniq -c | sort -rn; }
{
    echo "snapshot: commits|rollbacks|inserted|updated|deleted|WAL bytes"
    echo "start        $S0"; echo "after launch $S1"; echo "end          $S2"
    echo "serialization failures: launch phase $(failures "$L0" "$L1"), conflict phase $(failures "$L1" "$L2")"
    echo "launch phase reasons:"; reasons "$L0" "$L1"
    echo "updates: $(Q "SELECT string_agg(relname || ' ' || n_tup_upd || ' (' || n_tup_hot_upd || ' heap-only)', '; ') FROM pg_stat_user_tables WHERE n_tup_upd > 0")"
    echo "waits, launch phase:"; head -n "$W1" "$OUT/waits" | sort | uniq -c | sort -rn | head -8
    echo "waits, conflict phase:"; tail -n +$((W1 + 1)) "$OUT/waits" | sort | uniq -c | sort -rn | head -8
} >"$OUT/db.txt"
cat "$OUT/bench.txt" "$OUT/db.txt"
