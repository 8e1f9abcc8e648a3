# Sourced by the bench scripts: what each of them needs before its wrk
# runs. Sets work (a temporary directory, removed on exit with whatever
# cleanup_extra names), payload, secret and sig, and writes
# $work/post.lua, a wrk script that posts the signed GitHub push.

if ! command -v wrk >/dev/null; then
	apt-get update -qq && apt-get install -y -qq wrk
fi
go build -o bin/caddy ./cmd/caddy # the code as it is now, not an older build

PGBASE=${HOOKGATE_TEST_POSTGRES_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
work=$(mktemp -d)
pgdb=""
cleanup() {
	for f in "$work"/*.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	if [ -n "$pgdb" ]; then
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

# start_caddy NAME: runs bin/caddy on $work/Caddyfile in the background,
# its pid in $work/NAME.pid.
start_caddy() {
	XDG_DATA_HOME=$work XDG_CONFIG_HOME=$work bin/caddy run --config "$work/Caddyfile" --adapter caddyfile >"$work/$1.log" 2>&1 &
	echo $! > "$work/$1.pid"
}

# stop_caddy NAME: stops what start_caddy NAME started.
stop_caddy() {
	kill "$(cat "$work/$1.pid")"
	wait "$(cat "$work/$1.pid")" 2>/dev/null || true
	rm -f "$work/$1.pid"
}

# await_202 NAME URL: waits until the signed push to URL is answered 202,
# or prints the log of NAME and fails.
await_202() {
	local code=000
	for _ in $(seq 100); do
		code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' \
			-H "X-Hub-Signature-256: $sig" --data-binary @"$payload" "$2" || true)
		[ "$code" = 202 ] && return 0
		sleep 0.1
	done
	echo "$1: $2 answered $code"
	cat "$work/$1.log"
	exit 1
}

# each_backend RUN: calls RUN sqlite STORAGE_LINE, then RUN postgres
# STORAGE_LINE on a database of its own when a server answers at PGBASE.
each_backend() {
	"$1" sqlite "storage sqlite $work/hookgate.db"
	local db=hookgate_bench_$$
	if command -v psql >/dev/null && psql -q "$PGBASE" -c "CREATE DATABASE $db" >/dev/null 2>&1; then
		pgdb=$db
		"$1" postgres "storage postgres \"${PGBASE%%/test*}/$db?sslmode=disable\""
	else
		echo "postgres: skipped, no server for $PGBASE (or no psql)"
	fi
}
