#!/usr/bin/env bash
# The server CPU one request costs, measured with wrk (a C client, -t1) against:
#   - a bare Hummingbird server with one POST route and a fixed answer (scripts/http-floor: the framework's floor),
#   - this server's `GET /healthz` (its middleware, routing and a JSON answer; no token, no database),
#   - this server's send (POST /api/conversations/{id}/messages: everything),
# with 1 connection (sequential) and 32, 5 s each. CPU from /proc/<pid>/stat (user + system) over the run, divided
# by the requests wrk counted. Needs wrk (apt-get install wrk); builds both servers in release mode.
#
#   scripts/http-floor.sh                                   # SECONDS_EACH=5 ROUNDS=2 by default
#   FLOOR_SERVER_BIN=/path/to/messenger scripts/http-floor.sh   # another build of this server instead
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${SECONDS_EACH:-5}
ROUNDS=${ROUNDS:-2}
command -v wrk >/dev/null || { echo "http-floor.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }
(cd scripts/http-floor && swift build -c release >&2)
FLOOR_BIN=scripts/http-floor/.build/release/http-floor
if [[ -n "${FLOOR_SERVER_BIN:-}" ]]; then
    SERVER_BIN=$FLOOR_SERVER_BIN
else
    swift build -c release --product messenger >&2
    SERVER_BIN=$(swift build -c release --show-bin-path)/messenger
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
DATA=$(mktemp -d /tmp/http-floor.XXXXXX)
chmod 755 "$DATA"
FLOOR_PORT=$(free_port)
PORT=$(free_port)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$DATA"
}
trap cleanup EXIT INT TERM
"$FLOOR_BIN" "$FLOOR_PORT" >"$DATA/floor.log" 2>&1 &
FLOOR_PID=$!
PIDS+=("$FLOOR_PID")
"$SERVER_BIN" serve --host 127.0.0.1 --port "$PORT" --data-dir "$DATA" --dev-login </dev/null >"$DATA/server.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
for i in $(seq 1 240); do
    curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && curl -fsS -o /dev/null -X POST "http://127.0.0.1:$FLOOR_PORT/api/conversations/1/messages" 2>/dev/null && break
    if [[ $i -eq 240 ]]; then echo "http-floor.sh: servers not ready after 120 s; their logs:" >&2; tail -20 "$DATA/server.log" "$DATA/floor.log" >&2; exit 1; fi
    sleep 0.5
done
login() { curl -fsS -X POST "http://127.0.0.1:$PORT/api/login" -H 'content-type: application/json' -d "{\"username\":\"$1\"}" | python3 -c 'import sys, json; print(json.load(sys.stdin)["token"])'; }
TOKEN=$(login floor-a)
login floor-b >/dev/null
CONVERSATION=$(curl -fsS -X POST "http://127.0.0.1:$PORT/api/conversations" -H "authorization: Bearer $TOKEN" \
    -H 'content-type: application/json' -d '{"username":"floor-b"}' | python3 -c 'import sys, json; print(json.load(sys.stdin)["id"])')
cat >"$DATA/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"content":"a message of the http floor measurement"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
TICK=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
measure() { # label pid wrk-args...
    local label=$1 pid=$2
    shift 2
    local before after out requests
    before=$(cpu "$pid")
    out=$(wrk -t1 -d"${SECONDS_EACH}s" "$@" 2>&1)
    after=$(cpu "$pid")
    requests=$(echo "$out" | awk '/requests in/ {print $1}')
    python3 -c "print(f'  {\"$label\":<44} {int($requests)/$SECONDS_EACH:>9.0f} req/s   server CPU {($after - $before) / $TICK / int($requests) * 1e6:7.1f} µs per request')"
}
echo "http-floor: load average $(cut -d' ' -f1-3 /proc/loadavg) at start; $SECONDS_EACH s per row"
for round in $(seq 1 "$ROUNDS"); do
    echo "round $round"
    for connections in 1 32; do
        measure "bare Hummingbird POST, $connections conn" "$FLOOR_PID" -c"$connections" -s "$DATA/post.lua" \
            "http://127.0.0.1:$FLOOR_PORT/api/conversations/1/messages"
        measure "messenger GET /healthz (no database), $connections conn" "$SERVER_PID" -c"$connections" \
            "http://127.0.0.1:$PORT/healthz"
        # One conversation: with 32 connections its row serialises the sends (the benchmark's `concurrent` uses
        # one conversation per sender); this row is for the sequential case.
        if [[ $connections -eq 1 ]]; then
            measure "messenger send, $connections conn" "$SERVER_PID" -c"$connections" -s "$DATA/post.lua" \
                "http://127.0.0.1:$PORT/api/conversations/$CONVERSATION/messages"
        fi
    done
done
echo "http-floor: load average $(cut -d' ' -f1-3 /proc/loadavg) at end"
