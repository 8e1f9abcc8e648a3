#!/usr/bin/env bash
# Runs every Go fuzz target of the module for a bounded time each
# (default 20s). Their seed corpora also run in plain `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-20s}
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
		echo "== $pkg $target ($fuzztime)"
		go test -run=NONE -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg"
	done
done
