# apiguard: the two commands a newcomer needs are `make run` and `make test`.
GO        ?= go
PKGS      ?= ./...
FUZZTIME  ?= 10s
BENCHTIME ?= 1s
# The race detector needs cgo and a C compiler; without them the suite still runs, without -race.
RACE      ?= $(shell [ "$$($(GO) env CGO_ENABLED)" = 1 ] && command -v "$$($(GO) env CC)" >/dev/null 2>&1 && echo -race)

.PHONY: run test test-short bench fuzz lint peerbench

## run: start the example server on embedded defaults (in-memory stores, a generated development key)
run:
	$(GO) run ./example

## test: vet, then the whole suite with the race detector (Redis-backed tests need redis-server on PATH),
## then the modules of their own under internal/: the peer comparison's correctness tests (every peer must
## accept and refuse the same tokens) and the test-only OpenID Connect provider
test:
	$(GO) vet $(PKGS)
	@[ -n "$(RACE)" ] || echo "test: no C compiler for cgo, running without the race detector"
	$(GO) test $(RACE) -count=1 $(PKGS)
	cd internal/peerbench && $(GO) vet ./... && $(GO) test -count=1 ./...
	cd internal/oidcprovider && $(GO) vet ./... && $(GO) test -count=1 ./...

## test-short: the suite without the race detector, for a quick loop
test-short:
	$(GO) test -count=1 $(PKGS)

## bench: every benchmark, with allocations
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)

## peerbench: apiguard next to go-chi/jwtauth, auth0/go-jwt-middleware v3, golang-jwt with keyfunc, go-jose v4, jwx v3
## and go-chi/httprate, after TestPeersAgree, ratios from one run
peerbench:
	cd internal/peerbench && $(GO) test -run '^TestPeersAgree$$' -count=1 .
	cd internal/peerbench && PEERBENCH_RATIOS=1 $(GO) test -run '^TestPrintPeerRatios$$' -count=1 -v .
	cd internal/peerbench && $(GO) test -run '^$$' -bench RateLimit -benchmem -benchtime 300ms .

## fuzz: each fuzz target of the module for FUZZTIME
fuzz:
	FUZZTIME=$(FUZZTIME) bash .ci/fuzz

## lint: go vet, a gofmt check and staticcheck (pinned, run with go run; lint fails when it cannot run)
lint:
	bash .ci/lint

.PHONY: observatory e2e load run-cluster

## observatory: serve the example over local TLS on 127.0.0.1:443 (+ a redirect on :80) and grade it with the MDN HTTP Observatory; fails below A+
observatory:
	bash .ci/observatory

## e2e: browser test of the example and its demo page (needs chromium and node >= 20; skips without them outside CI)
e2e:
	bash .ci/e2e

## load: wrk against the example, server and wrk pinned to a core each (taskset): /healthz vs /api/me with one token
## (cache hits, LOAD_ROUNDS rounds, default 3) and many (misses)
load:
	bash .ci/load

## run-cluster: a local redis-server and two example instances sharing it (:8080 with the demo on :8081, and :8082)
run-cluster:
	bash .ci/run-cluster
