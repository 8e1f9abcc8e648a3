#!/usr/bin/env bash
# Durable trigger throughput with wrk on 127.0.0.1: signed GitHub pushes
# to a hook that triggers a pipeline, each answered 202 once its action is
# stored, on SQLite and (when a server answers on 127.0.0.1:5432) on
# PostgreSQL. Prints hooks/s answered 202 and any other answer.
# Bounded: one wrk run of SECONDS_PER_RUN per backend.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
CONNECTIONS=${CONNECTIONS:-32}
PGBASE=${HOOKGATE_TEST_POSTGRES_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}

if ! command -v wrk >/dev/null; then
	apt-get update -qq && apt-get install -y -qq wrk
fi
[ -x bin/caddy ] || go build -o bin/caddy ./cmd/caddy

work=$(mktemp -d)
pgdb=hookgate_bench_$$
cleanup() {
	kill "$(cat "$work/pid" 2>/dev/null)" 2>/dev/null || true
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

# run BACKEND STORAGE_LINE: serves the trigger route on that storage and
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
		pipeline deploy {
			step deploy exec /bin/true {vars.ref}
		}
	}
}
http://127.0.0.1:8093 {
	hookgate bench {
		signature github
		secret $secret
		var ref ref string required
		var commit_hash head_commit.id
		pipeline deploy
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
	[ "$code" = 202 ] || { echo "$1: the trigger route answered $code"; cat "$work/caddy.log"; exit 1; }
	wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" -s "$work/post.lua" http://127.0.0.1:8093/ > "$work/wrk.txt"
	awk -v b="$1" '/Requests\/sec/ {printf "%s: %.0f hooks/s answered 202\n", b, $2}
		/Non-2xx/ {printf "%s: %s answers were not 2xx\n", b, $NF}
		/Latency/ {printf "%s: latency avg %s, max %s\n", b, $2, $4}' "$work/wrk.txt"
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
