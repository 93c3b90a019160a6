# The two commands of the README: `make run` and `make test`. Both install
# what they need first (pinned, hash-checked), so a fresh Debian machine with
# Go needs nothing else.

GO       ?= go
TOOLS    := $(CURDIR)/.tools
BIN      := $(CURDIR)/bin

# Tests and the dev command find the pinned tools through these.
export MEILI_BIN := $(TOOLS)/meilisearch
export HUGO      := $(BIN)/hugo

.PHONY: run test test-go fuzz tools test-deps clean bench bench-smoke

## run: the whole portal on http://127.0.0.1:8080 (site, API, local Meilisearch)
run: tools
	$(GO) build -o $(BIN)/portal ./cmd/portal
	$(BIN)/portal dev

## test: vet, the whole test suite with the race detector, a bounded fuzz run
## and the benchmark harness's smoke run
test: tools test-deps test-go fuzz bench-smoke

test-go:
	$(GO) vet ./...
	$(GO) run ./cmd/portal training lint
	$(GO) run ./cmd/portal content lint
	$(GO) test -race -count=1 -timeout 20m ./...

# Bounded so that CI stays fast; run longer by hand with FUZZTIME=10m.
FUZZTIME ?= 20s
# FuzzMemberFilter runs against a real Meilisearch, one per fuzz worker:
# -parallel 1 keeps it to one.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzQuote$$' -fuzztime $(FUZZTIME) ./search
	$(GO) test -run '^$$' -fuzz '^FuzzMemberFilter$$' -fuzztime $(FUZZTIME) -parallel 1 ./search
	$(GO) test -run '^$$' -fuzz '^FuzzParseMemberQuery$$' -fuzztime $(FUZZTIME) ./api

tools: $(MEILI_BIN) $(HUGO)

$(MEILI_BIN): scripts/install-meilisearch
	scripts/install-meilisearch $@

# The Hugo version is the one go.mod pins as a tool.
$(HUGO): go.mod go.sum
	$(GO) build -o $@ github.com/gohugoio/hugo

test-deps:
	scripts/install-test-deps

# The benchmark harness is its own module (bench/go.mod) so that its load
# tool, vegeta, stays out of the portal's dependencies.
BENCH_FLAGS ?=

## bench: start Meilisearch and the portal, index a seeded synthetic library,
## run the loads and write docs/benchmarks.{md,json} and
## docs/benchmarks-scaling.svg (under 15 minutes on 2 cores)
bench: tools
	cd bench && $(GO) run ./cmd/bench $(BENCH_FLAGS)

## bench-smoke: the harness on a tiny corpus with 1-second rounds, report in a
## temporary directory; fails only if a figure is not produced or the raw
## requests no longer match the portal's, never on timing (CI, under a minute)
bench-smoke: tools
	cd bench && $(GO) vet ./... && $(GO) test -count=1 ./...
	cd bench && $(GO) run ./cmd/bench -smoke $(BENCH_FLAGS)

clean:
	rm -rf $(BIN) site/public site/resources
