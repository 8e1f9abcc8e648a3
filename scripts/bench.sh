#!/usr/bin/env bash
# Load test on 127.0.0.1 with wrk: the same signed GitHub push request
# against (a) hookgate verify + extract + respond, (b) plain Caddy respond
# and (c) hookgate verify + respond, with no variable (the ceiling of (a):
# reading and hashing the body, which (b) never does), served by one Caddy
# process, in alternating rounds of one run. Prints the req/s of each and
# the ratios a/b, c/b and a/c (what reading the variables costs).
# Bounded: ROUNDS x 3 x SECONDS.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
CONNECTIONS=${CONNECTIONS:-32}
# REQUEST_LOG=<n> runs the hookgate app beside the hook, with a request log
# of n requests (0: off), to measure what the log costs the hot path.
REQUEST_LOG=${REQUEST_LOG:-}

. scripts/benchlib.sh

app=""
if [ -n "$REQUEST_LOG" ]; then
	app="hookgate {
		storage sqlite $work/hookgate.db
		request_log $REQUEST_LOG
	}"
fi
cat > "$work/Caddyfile" <<CADDY
{
	$app
	admin off
	auto_https off
	log default {
		level ERROR
	}
}
http://127.0.0.1:8091 {
	hookgate bench {
		signature github
		secret $secret
		var ref ref string required
		var commit_hash head_commit.id
		var repo repository.full_name
	}
	respond "ok" 200
}
http://127.0.0.1:8092 {
	respond "ok" 200
}
http://127.0.0.1:8093 {
	hookgate ceiling {
		signature github
		secret $secret
	}
	respond "ok" 200
}
CADDY

start_caddy caddy
for _ in $(seq 50); do curl -fs -o /dev/null http://127.0.0.1:8092/ && break; sleep 0.1; done

# Refuse to measure a misconfigured route: the signed request must pass.
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H "X-Hub-Signature-256: $sig" --data-binary @"$payload" http://127.0.0.1:8091/)
[ "$code" = 200 ] || { echo "hookgate route answered $code"; cat "$work/caddy.log"; exit 1; }

# cpu is the Caddy process's CPU time so far, in clock ticks.
cpu() { awk '{print $14 + $15}' "/proc/$(cat "$work/caddy.pid")/stat"; }
hz=$(getconf CLK_TCK)
# run URL: one wrk run; prints req/s and Caddy's CPU µs per request. CPU
# per request is what the gateway itself costs, and it is steadier than
# req/s when other work shares the cores.
run() {
	local before out n
	before=$(cpu)
	out=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" -s "$work/post.lua" "$1")
	n=$(echo "$out" | awk '/requests in/ {print $1}')
	echo "$out" | awk -v t=$(($(cpu) - before)) -v hz="$hz" -v n="$n" \
		'/Requests\/sec/ {printf "%s %.2f\n", $2, t / hz * 1e6 / n}'
}
results=()
for r in $(seq "$ROUNDS"); do
	read -r h hc < <(run http://127.0.0.1:8091/)
	read -r p pc < <(run http://127.0.0.1:8092/)
	read -r v vc < <(run http://127.0.0.1:8093/)
	echo "round $r: hookgate $h req/s ($hc µs CPU/req), plain $p req/s ($pc µs CPU/req), verify only $v req/s ($vc µs CPU/req)"
	results+=("$h $p $hc $pc $v $vc")
done
printf '%s\n' "${results[@]}" | awk '{h += $1; p += $2; hc += $3; pc += $4; v += $5; vc += $6} END {
	printf "hookgate verify+extract+respond: %.0f req/s, %.2f µs CPU/req\n", h / NR, hc / NR
	printf "plain Caddy respond:             %.0f req/s, %.2f µs CPU/req\n", p / NR, pc / NR
	printf "hookgate verify+respond:         %.0f req/s, %.2f µs CPU/req\n", v / NR, vc / NR
	printf "ratio: %.3f (req/s); CPU per request, plain / hookgate: %.3f\n", h / p, pc / hc
	printf "ceiling, verify only / plain: %.3f (req/s); CPU per request, plain / verify only: %.3f\n", v / p, pc / vc
	printf "variables, hookgate / verify only: %.3f (req/s); CPU per request, verify only / hookgate: %.3f\n", h / v, vc / hc
}'
