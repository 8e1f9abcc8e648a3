# The README's two commands are `make run` and `make test`.
GO ?= go
BIN := bin/caddy

.PHONY: build run test bench fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/caddy

# Builds Caddy with hookgate and serves Caddyfile.example.
run: build
	./$(BIN) run --config Caddyfile.example --adapter caddyfile

# Every test: unit, signature vectors, fuzz seed corpora, adapt goldens and
# integration tests against a real Caddy.
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

# Benchmarks: go test -bench (including durable trigger throughput and
# hook-to-start latency on both backends), then wrk against hookgate and
# plain Caddy, wrk against a durable trigger route and against a relay route.
bench: build
	$(GO) test -run=NONE -bench=. -benchmem ./...
	./scripts/bench.sh
	./scripts/bench-trigger.sh
	./scripts/bench-relay.sh

# Runs each fuzz target for a bounded time (FUZZTIME each, default 20s).
FUZZTIME ?= 20s
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin
