#!/usr/bin/env bash
# Relay throughput through Caddy with wrk on 127.0.0.1: signed GitHub
# pushes to a relay hook, each answered 202 once stored with its delivery
# to a local app (a second Caddy answering 204 at once), on SQLite and
# (when a server answers on 127.0.0.1:5432) on PostgreSQL. Prints the
# hooks/s answered 202 during the wrk run, and the hooks/s forwarded from
# the start of the run until the last one was delivered (the gateway's
# hookgate_deliveries_total). Bounded: one wrk run of SECONDS_PER_RUN per
# backend, then at most DRAIN_SECONDS for the backlog.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
DRAIN_SECONDS=${DRAIN_SECONDS:-120}
CONNECTIONS=${CONNECTIONS:-32}
PGBASE=${HOOKGATE_TEST_POSTGRES_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}

if ! command -v wrk >/dev/null; then
	apt-get update -qq && apt-get install -y -qq wrk
fi
[ -x bin/caddy ] || go build -o bin/caddy ./cmd/caddy

work=$(mktemp -d)
pgdb=hookgate_relay_bench_$$
cleanup() {
	kill "$(cat "$work/pid" 2>/dev/null)" 2>/dev/null || true
	kill "$(cat "$work/app.pid" 2>/dev/null)" 2>/dev/null || true
	if [ -n "${pg_created:-}" ]; then
		sleep 1
		psql -q "$PGBASE" -c "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
payload=../shared/testdata/payloads/github-push.json
secret=bench-secret
sig=$(bin/caddy hookgate sign --preset github --secret "$secret" < "$payload" | sed -n 's/^X-Hub-Signature-256: //p')

cat > "$work/post.lua" <<LUA
local f = assert(io.open("$payload", "rb"))
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-GitHub-Event"] = "push"
wrk.headers["X-Hub-Signature-256"] = "$sig"
LUA

# The app behind the gateway: answers 204 at once.
XDG_DATA_HOME=$work XDG_CONFIG_HOME=$work bin/caddy respond --listen 127.0.0.1:8095 --status 204 >"$work/app.log" 2>&1 &
echo $! > "$work/app.pid"

# forwarded prints the gateway's count of successful deliveries.
forwarded() {
	curl -s http://127.0.0.1:8093/metrics | awk '/^hookgate_deliveries_total\{outcome="succeeded",webhook="app"\}/ {printf "%d", $2; found=1} END {if (!found) print 0}'
}

# run BACKEND STORAGE_LINE: serves the relay route on that storage and
# measures it.
run() {
	cat > "$work/Caddyfile" <<CADDY
{
	admin off
	log default {
		level ERROR
	}
	hookgate {
		$2
		allow_targets 127.0.0.0/8
		webhook app {
			url http://127.0.0.1:8095/github
			events hook.received
			payload raw
			forward_headers X-GitHub-Event
		}
	}
}
http://127.0.0.1:8093 {
	handle /metrics {
		metrics
	}
	handle {
		hookgate bench {
			signature github
			secret $secret
			var ref ref string required
			var commit_hash head_commit.id
			relay
		}
	}
}
CADDY
	XDG_DATA_HOME=$work XDG_CONFIG_HOME=$work bin/caddy run --config "$work/Caddyfile" --adapter caddyfile >"$work/caddy.log" 2>&1 &
	echo $! > "$work/pid"
	local code=000
	for _ in $(seq 100); do
		code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' \
			-H "X-Hub-Signature-256: $sig" --data-binary @"$payload" http://127.0.0.1:8093/ || true)
		[ "$code" = 202 ] && break
		sleep 0.1
	done
	[ "$code" = 202 ] || { echo "$1: the relay route answered $code"; cat "$work/caddy.log"; exit 1; }
	sleep 1
	local before start
	before=$(forwarded)
	start=$(date +%s.%N)
	wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" -s "$work/post.lua" http://127.0.0.1:8093/ > "$work/wrk.txt"
	local sent
	sent=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
	awk -v b="$1" '/Requests\/sec/ {printf "%s: %.0f hooks/s answered 202 (relayed and stored)\n", b, $2}
		/Non-2xx/ {printf "%s: %s answers were not 2xx\n", b, $NF}
		/Latency/ {printf "%s: answer latency avg %s, max %s\n", b, $2, $4}' "$work/wrk.txt"
	local deadline=$(( $(date +%s) + DRAIN_SECONDS )) done=0
	while [ "$(date +%s)" -lt "$deadline" ]; do
		done=$(( $(forwarded) - before ))
		[ "$done" -ge "$sent" ] && break
		sleep 0.2
	done
	awk -v b="$1" -v n="$done" -v sent="$sent" -v s="$start" -v e="$(date +%s.%N)" \
		'BEGIN {printf "%s: %d of %d hooks forwarded in %.1f s: %.0f hooks/s sustained\n", b, n, sent, e-s, n/(e-s)}'
	kill "$(cat "$work/pid")"
	wait "$(cat "$work/pid")" 2>/dev/null || true
	rm -f "$work/pid"
}

run sqlite "storage sqlite $work/hookgate.db"
if command -v psql >/dev/null && psql -q "$PGBASE" -c "CREATE DATABASE $pgdb" >/dev/null 2>&1; then
	pg_created=1
	run postgres "storage postgres \"${PGBASE%%/test*}/$pgdb?sslmode=disable\""
else
	echo "postgres: skipped, no server for $PGBASE (or no psql)"
fi
