#!/usr/bin/env bash
# Relay throughput through Caddy with wrk on 127.0.0.1: signed GitHub
# pushes to a relay hook, each answered 202 once stored with its delivery
# to a local app (a second Caddy answering 204 at once), on SQLite and
# (when a server answers on 127.0.0.1:5432) on PostgreSQL. Prints the
# hooks/s answered 202 during the wrk run, and the hooks/s forwarded from
# the start of the run until the last one was delivered (the gateway's
# hookgate_deliveries_total). Bounded: one wrk run of SECONDS_PER_RUN per
# backend, then at most DRAIN_SECONDS for the backlog. FORWARD=0 leaves
# the app down, so that the deliveries fail and are held: the hooks/s
# stored then do not share the two cores with the forwarding.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
DRAIN_SECONDS=${DRAIN_SECONDS:-120}
CONNECTIONS=${CONNECTIONS:-32}
FORWARD=${FORWARD:-1}
. scripts/benchlib.sh

# The app behind the gateway: answers 204 at once.
if [ "$FORWARD" = 1 ]; then
	XDG_DATA_HOME=$work XDG_CONFIG_HOME=$work bin/caddy respond --listen 127.0.0.1:8095 --status 204 >"$work/app.log" 2>&1 &
	echo $! > "$work/app.pid"
fi

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
	start_caddy gateway
	await_202 gateway http://127.0.0.1:8093/
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
	if [ "$FORWARD" = 1 ]; then
		local deadline=$(( $(date +%s) + DRAIN_SECONDS )) done=0
		while [ "$(date +%s)" -lt "$deadline" ]; do
			done=$(( $(forwarded) - before ))
			[ "$done" -ge "$sent" ] && break
			sleep 0.2
		done
		awk -v b="$1" -v n="$done" -v sent="$sent" -v s="$start" -v e="$(date +%s.%N)" \
			'BEGIN {printf "%s: %d of %d hooks forwarded in %.1f s: %.0f hooks/s sustained\n", b, n, sent, e-s, n/(e-s)}'
	fi
	stop_caddy gateway
}

each_backend run
