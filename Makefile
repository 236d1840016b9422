# apiguard: the two commands a newcomer needs are `make run` and `make test`.
GO        ?= go
PKGS      ?= ./...
FUZZTIME  ?= 10s
BENCHTIME ?= 1s

.PHONY: run test test-short bench fuzz lint

## run: start the example server on embedded defaults (in-memory stores, a generated development key)
run:
	$(GO) run ./example

## test: vet, then the whole suite with the race detector (Redis-backed tests need redis-server on PATH)
test:
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 $(PKGS)

## test-short: the suite without the race detector, for a quick loop
test-short:
	$(GO) test -count=1 $(PKGS)

## bench: every benchmark, with allocations
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)

## fuzz: each fuzz target of the module for FUZZTIME
fuzz:
	FUZZTIME=$(FUZZTIME) bash .ci/fuzz

## lint: go vet, a gofmt check, and staticcheck when it can be installed
lint:
	bash .ci/lint
