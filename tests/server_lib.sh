# shellcheck shell=bash
# Start and stop a real `orfeas serve` on an ephemeral loopback port.
#   server_start ORFEAS [serve flags...]   sets SERVER_PID, SERVER_URL, SERVER_LOG
#   server_stop                            SIGTERM, waits, sets SERVER_EXIT
# The port comes from the server's own "listening on" line (--port 0).

server_start() {
    local orfeas="$1"
    shift
    SERVER_LOG="$(mktemp)"
    "$orfeas" serve --host 127.0.0.1 --port 0 --log-level info "$@" 2>"$SERVER_LOG" &
    SERVER_PID=$!
    local i url=""
    for i in $(seq 1 200); do
        url="$(grep -o 'listening on http://[^ ]*' "$SERVER_LOG" | head -1 | sed 's/listening on //')"
        [ -n "$url" ] && break
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "server exited early:" >&2
            cat "$SERVER_LOG" >&2
            return 1
        fi
        sleep 0.05
    done
    [ -n "$url" ] || { echo "server did not start" >&2; cat "$SERVER_LOG" >&2; return 1; }
    SERVER_URL="${url%/}"
    for i in $(seq 1 100); do
        curl -fs "$SERVER_URL/api/health" >/dev/null && return 0
        sleep 0.05
    done
    echo "server not healthy" >&2
    return 1
}

server_stop() {
    SERVER_EXIT=""
    [ -n "${SERVER_PID:-}" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null
    local i
    for i in $(seq 1 600); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID"
        SERVER_EXIT=killed
    else
        wait "$SERVER_PID"
        SERVER_EXIT=$?
    fi
    SERVER_PID=""
}

# json_get FILE EXPR: evaluates a JS expression on the parsed JSON `j`.
json_get() {
    node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
             const v = eval(process.argv[2]); console.log(typeof v === "object" ? JSON.stringify(v) : v);' "$1" "$2"
}

# Counting checks: `check DESC COMMAND...` passes when COMMAND succeeds.
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() {
    failed=$((failed + 1))
    echo "FAIL $*" >&2
}
check() {
    local desc="$1"
    shift
    if "$@"; then ok; else bad "$desc"; fi
}
