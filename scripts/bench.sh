#!/usr/bin/env bash
# Reproduces the README "Benchmarks" numbers: builds the server and messenger-bench in release mode, starts the
# server with an embedded PostgreSQL in a fresh temporary folder, runs messenger-bench against it (with the
# server's pid for RSS/CPU and its database for the pgbench raw-INSERT baseline), then stops everything.
#
#   scripts/bench.sh                      # every scenario, full sizes  (= messenger-bench all)
#   scripts/bench.sh all --quick          # every scenario, small sizes (under a minute)
#   scripts/bench.sh delivery --rate 500  # one scenario; any messenger-bench arguments pass through
#   scripts/bench.sh search               # search on the seeded 1,000,000 messages (seeds them first)
#   scripts/bench.sh listing              # listing/sending as seed1 in 1,000 conversations, 1,000,000 messages (seeds)
#   BENCH_CONVERSATIONS=10000 scripts/bench.sh listing   # the same with seed1 in 10,000 conversations
#   scripts/bench.sh delivery-two-process # `delivery` with streams on a second instance (= BENCH_SECOND_INSTANCE=1)
#   scripts/bench.sh connections-cold     # `connections` with streams on a second instance (cold caches)
#   BENCH_COMPARE_BIN=/path/to/other/messenger scripts/bench.sh send   # side by side with another build (below)
#
# Environment: BENCH_PORT (default: a free port), BENCH_NO_BUILD=1 (reuse .build/release),
#              BENCH_CONFIG=debug (benchmark a debug build), BENCH_KEEP=1 (keep the temp folder and its logs),
#              BENCH_SERVER_BIN / BENCH_TOOL_BIN (use these executables; no build),
#              BENCH_SERVER_ARGS (extra `messenger serve` arguments, e.g. "--pool-size 32"),
#              BENCH_SECOND_INSTANCE=1 (start a second server on the same database and pass it to the tool as
#              --subscribe-url: `delivery` then measures sends on one process reaching streams on the other,
#              `connections` opens its streams on a process that issued none of the tokens),
#              BENCH_CONVERSATIONS (listing: seed1's conversations in the seeded set, default 1000),
#              BENCH_COMPARE_BIN (start this other `messenger` executable too, on its own fresh embedded PostgreSQL
#              seeded the same way, and run every scenario against both: `messenger-bench --compare`),
#              BENCH_COMPARE_URL (compare with an already running tutorial-compatible server at this URL instead;
#              scenarios needing our extensions are reported as skipped there).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
CONFIG=${BENCH_CONFIG:-release}
# A port the kernel says is free now: a random one in the ephemeral range can be the local end of some outgoing
# connection, and the server then (rightly) refuses to start with "address in use".
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=${BENCH_PORT:-$(free_port)}

if [[ $# -eq 0 ]]; then set -- all; fi
# The two-process latency scenario by name: `delivery` with its streams on a second instance.
if [[ "$1" == "delivery-two-process" ]]; then
    shift
    set -- delivery "$@"
    BENCH_SECOND_INSTANCE=1
fi
# A reconnect storm on cold caches: `connections` with its streams on a second instance that issued none of the
# tokens (every token verification and session check there is its first).
if [[ "$1" == "connections-cold" ]]; then
    shift
    set -- connections "$@"
    BENCH_SECOND_INSTANCE=1
fi

# Many idle SSE streams need many file descriptors, in the server and in the client (the bench also raises its
# own soft limit with setrlimit). Raise the soft limit of this shell, inherited by both, to the hard limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "bench.sh: ulimit -n is $(ulimit -n)" >&2

if [[ -n "${BENCH_SERVER_BIN:-}" && -n "${BENCH_TOOL_BIN:-}" ]]; then
    SERVER_BIN=$BENCH_SERVER_BIN
    TOOL_BIN=$BENCH_TOOL_BIN
else
    if [[ -z "${BENCH_NO_BUILD:-}" ]]; then
        echo "bench.sh: swift build -c $CONFIG" >&2
        swift build -c "$CONFIG" --product messenger
        swift build -c "$CONFIG" --product messenger-bench
    fi
    BIN=$(swift build -c "$CONFIG" --show-bin-path)
    SERVER_BIN=${BENCH_SERVER_BIN:-$BIN/messenger}
    TOOL_BIN=${BENCH_TOOL_BIN:-$BIN/messenger-bench}
fi

# The data folder must be traversable by the postgres user when we run as root.
DATA=$(mktemp -d /tmp/messenger-bench.XXXXXX)
chmod 755 "$DATA"
SERVER_PID=""
SECOND_PID=""
COMPARE_PID=""
cleanup() {
    if [[ -n "$COMPARE_PID" ]] && kill -0 "$COMPARE_PID" 2>/dev/null; then
        kill -TERM "$COMPARE_PID" 2>/dev/null || true
        for _ in $(seq 1 600); do kill -0 "$COMPARE_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$COMPARE_PID" 2>/dev/null || true
        wait "$COMPARE_PID" 2>/dev/null || true
    fi
    if [[ -n "$SECOND_PID" ]] && kill -0 "$SECOND_PID" 2>/dev/null; then
        kill -TERM "$SECOND_PID" 2>/dev/null || true
        wait "$SECOND_PID" 2>/dev/null || true
    fi
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        # Graceful stop (it also stops the embedded PostgreSQL). After `connections` the server may need a while to
        # close thousands of streams, so allow a minute before SIGKILL.
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 600); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "bench.sh: server still running 60 s after SIGTERM; killing it" >&2
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        fi
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    # Should a server not have stopped its embedded PostgreSQL, stop it here.
    for pgdata in "$DATA/pgdata" "$DATA/compare/pgdata"; do
        if [[ -f "$pgdata/postmaster.pid" ]]; then
            PGBIN=$(pg_config --bindir 2>/dev/null || ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
            if [[ $(id -u) -eq 0 ]]; then
                runuser -u postgres -- "$PGBIN/pg_ctl" stop -m fast -D "$pgdata" >/dev/null 2>&1 || true
            else
                "$PGBIN/pg_ctl" stop -m fast -D "$pgdata" >/dev/null 2>&1 || true
            fi
        fi
    done
    if [[ -n "${BENCH_KEEP:-}" ]]; then echo "bench.sh: kept $DATA" >&2; else rm -rf "$DATA"; fi
}
trap cleanup EXIT INT TERM

echo "bench.sh: starting $SERVER_BIN on 127.0.0.1:$PORT with embedded PostgreSQL in $DATA" >&2
# shellcheck disable=SC2086
"$SERVER_BIN" serve --host 127.0.0.1 --port "$PORT" --data-dir "$DATA" --dev-login ${BENCH_SERVER_ARGS:-} \
    </dev/null >"$DATA/server.log" 2>&1 &
SERVER_PID=$!

for i in $(seq 1 240); do
    if curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "bench.sh: the server exited; its log:" >&2
        cat "$DATA/server.log" >&2
        exit 1
    fi
    if [[ $i -eq 240 ]]; then echo "bench.sh: server not ready after 120 s" >&2; tail -50 "$DATA/server.log" >&2; exit 1; fi
    sleep 0.5
done

# The embedded cluster listens on a Unix socket in $DATA/pgdata, database "messenger", role = the user that runs
# PostgreSQL (postgres when we are root), trust authentication.
if [[ $(id -u) -eq 0 ]]; then PGROLE=postgres; else PGROLE=${USER:-$(id -un)}; fi
DB_URL="postgresql://$PGROLE@/messenger?host=$DATA/pgdata&port=5432"
DB_PID=$(head -1 "$DATA/pgdata/postmaster.pid" 2>/dev/null || true)
DB_PID_ARGS=()
if [[ -n "$DB_PID" ]]; then DB_PID_ARGS=(--database-pid "$DB_PID"); fi

echo "bench.sh: server pid $SERVER_PID, database $DB_URL (postmaster pid ${DB_PID:-?})" >&2

# `search` and `listing` run on the seeded set: 10,000 users, seed1 in 1,000 conversations (BENCH_CONVERSATIONS),
# 1,000,000 messages; `search` adds the words of scripts/seed-search.sql. Seeding takes a minute or two (the search
# index is maintained while inserting).
seed() {
    case "${1:-}" in
        search)
            echo "bench.sh: seeding scripts/seed-large.sql and scripts/seed-search.sql into $2" >&2
            psql -q "$2" -f scripts/seed-large.sql -f scripts/seed-search.sql >&2 ;;
        listing)
            echo "bench.sh: seeding scripts/seed-large.sql (${BENCH_CONVERSATIONS:-1000} conversations) into $2" >&2
            psql -q "$2" -v conversations="${BENCH_CONVERSATIONS:-1000}" -f scripts/seed-large.sql >&2 ;;
    esac
}
seed "${1:-}" "$DB_URL"

# Another server to compare with, started like ours on its own fresh embedded PostgreSQL (same seed).
COMPARE_ARGS=()
if [[ -n "${BENCH_COMPARE_BIN:-}" ]]; then
    DATA_C=$DATA/compare
    mkdir -p "$DATA_C"
    chmod 755 "$DATA_C"
    PORT_C=$(free_port)
    # shellcheck disable=SC2086
    "$BENCH_COMPARE_BIN" serve --host 127.0.0.1 --port "$PORT_C" --data-dir "$DATA_C" --dev-login ${BENCH_SERVER_ARGS:-} \
        </dev/null >"$DATA/compare.log" 2>&1 &
    COMPARE_PID=$!
    for i in $(seq 1 240); do
        if curl -fsS "http://127.0.0.1:$PORT_C/readyz" >/dev/null 2>&1; then break; fi
        if [[ $i -eq 240 ]] || ! kill -0 "$COMPARE_PID" 2>/dev/null; then
            echo "bench.sh: compare server not ready" >&2; tail -20 "$DATA/compare.log" >&2; exit 1
        fi
        sleep 0.5
    done
    seed "${1:-}" "postgresql://$PGROLE@/messenger?host=$DATA_C/pgdata&port=5432"
    COMPARE_ARGS=(--compare "http://127.0.0.1:$PORT_C" --compare-server-pid "$COMPARE_PID")
    DB_PID_C=$(head -1 "$DATA_C/pgdata/postmaster.pid" 2>/dev/null || true)
    if [[ -n "$DB_PID_C" ]]; then COMPARE_ARGS+=(--compare-database-pid "$DB_PID_C"); fi
    echo "bench.sh: compare server $BENCH_COMPARE_BIN pid $COMPARE_PID on port $PORT_C" >&2
elif [[ -n "${BENCH_COMPARE_URL:-}" ]]; then
    COMPARE_ARGS=(--compare "$BENCH_COMPARE_URL")
fi

EXTRA_TOOL_ARGS=()
if [[ -n "${BENCH_SECOND_INSTANCE:-}" ]]; then
    PORT2=$(free_port)
    # Same database and the same token key (the first server generated it in $DATA).
    # shellcheck disable=SC2086
    "$SERVER_BIN" serve --host 127.0.0.1 --port "$PORT2" --database-url "$DB_URL" --data-dir "$DATA" --dev-login \
        ${BENCH_SERVER_ARGS:-} </dev/null >"$DATA/server2.log" 2>&1 &
    SECOND_PID=$!
    for i in $(seq 1 120); do
        if curl -fsS "http://127.0.0.1:$PORT2/readyz" >/dev/null 2>&1; then break; fi
        if [[ $i -eq 120 ]]; then echo "bench.sh: second server not ready" >&2; tail -20 "$DATA/server2.log" >&2; exit 1; fi
        sleep 0.5
    done
    echo "bench.sh: second instance pid $SECOND_PID on port $PORT2 (streams there)" >&2
    EXTRA_TOOL_ARGS=(--subscribe-url "http://127.0.0.1:$PORT2")
fi
echo "bench.sh: machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/Mem:/{print $2}') GiB RAM" >&2

set +e
"$TOOL_BIN" "$@" --url "http://127.0.0.1:$PORT" --server-pid "$SERVER_PID" --database-url "$DB_URL" "${DB_PID_ARGS[@]}" \
    "${EXTRA_TOOL_ARGS[@]}" "${COMPARE_ARGS[@]}"
STATUS=$?
set -e
if [[ $STATUS -ne 0 ]]; then
    echo "bench.sh: messenger-bench exited with $STATUS; last server log lines:" >&2
    tail -20 "$DATA/server.log" >&2
fi
exit $STATUS
