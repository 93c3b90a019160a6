# The two commands of the README: `make run` and `make test`. Both install
# what they need first (pinned, hash-checked), so a fresh Debian machine with
# Go needs nothing else.

GO       ?= go
TOOLS    := $(CURDIR)/.tools
BIN      := $(CURDIR)/bin

# Tests and the dev command find the pinned tools through these.
export MEILI_BIN := $(TOOLS)/meilisearch
export HUGO      := $(BIN)/hugo

.PHONY: run test test-go fuzz tools test-deps clean

## run: the whole portal on http://127.0.0.1:8080 (site, API, local Meilisearch)
run: tools
	$(GO) build -o $(BIN)/portal ./cmd/portal
	$(BIN)/portal dev

## test: vet, the whole test suite with the race detector, and a bounded fuzz run
test: tools test-deps test-go fuzz

test-go:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

# Bounded so that CI stays fast; run longer by hand with FUZZTIME=10m.
FUZZTIME ?= 20s
# FuzzMemberFilter runs against a real Meilisearch, one per fuzz worker:
# -parallel 1 keeps it to one.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzQuote$$' -fuzztime $(FUZZTIME) ./search
	$(GO) test -run '^$$' -fuzz '^FuzzMemberFilter$$' -fuzztime $(FUZZTIME) -parallel 1 ./search

tools: $(MEILI_BIN) $(HUGO)

$(MEILI_BIN): scripts/install-meilisearch
	scripts/install-meilisearch $@

# The Hugo version is the one go.mod pins as a tool.
$(HUGO): go.mod go.sum
	$(GO) build -o $@ github.com/gohugoio/hugo

test-deps:
	scripts/install-test-deps

clean:
	rm -rf $(BIN) site/public site/resources
