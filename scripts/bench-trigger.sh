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
. scripts/benchlib.sh

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
	start_caddy gateway
	await_202 gateway http://127.0.0.1:8093/
	wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" -s "$work/post.lua" http://127.0.0.1:8093/ > "$work/wrk.txt"
	awk -v b="$1" '/Requests\/sec/ {printf "%s: %.0f hooks/s answered 202\n", b, $2}
		/Non-2xx/ {printf "%s: %s answers were not 2xx\n", b, $NF}
		/Latency/ {printf "%s: latency avg %s, max %s\n", b, $2, $4}' "$work/wrk.txt"
	stop_caddy gateway
}

each_backend run
