# The two commands of the README: `make run` and `make test`. Both install
# what they need first (pinned, hash-checked), so a fresh Debian machine with
# Go needs nothing else.

GO       ?= go
# The portal is built and tested with Go 1.27.3, which the go command fetches
# from the module proxy (checksum-verified) on first use: go1.26.8, the Go of
# these machines, has 14 standard-library vulnerabilities that the portal's
# code reaches (net/http, crypto/tls, html/template among them), all fixed in
# 1.27.3. go.mod keeps "go 1.26.8" as the oldest release the code compiles
# with; `make lint` fails on any called vulnerability, so the toolchain moves
# when the next fix does.
export GOTOOLCHAIN := go1.27.3
TOOLS    := $(CURDIR)/.tools
BIN      := $(CURDIR)/bin

# Tests and the dev command find the pinned tools through these.
export MEILI_BIN := $(TOOLS)/meilisearch
export HUGO      := $(BIN)/hugo
export MAILPIT_BIN := $(TOOLS)/mailpit
export WEED_BIN := $(TOOLS)/weed

# Hugo, staticcheck and govulncheck are pinned in their own module
# (tools/go.mod), so that their dependencies stay out of the portal's go.mod.
TOOL     := $(GO) tool -modfile=$(CURDIR)/tools/go.mod
# The Go vulnerability database, built from the pinned golang.org/x/vulndb
# module (the database's own site is out of reach here).
VULNDB   := $(TOOLS)/vulndb

.PHONY: run test test-go test-lighthouse lint fuzz tools test-deps ocr-deps clean bench bench-smoke dist dist-check

## run: the whole portal on http://127.0.0.1:8080 (site, API, local
## Meilisearch, and Mailpit as the inbox of the mail it sends); with
## PORTAL_DATABASE_URL and PORTAL_BLOB_URL (and the bucket's AWS_* keys) set,
## the same demo on PostgreSQL and an S3 bucket
run: tools ocr-deps
	$(GO) build -o $(BIN)/portal ./cmd/portal
	$(BIN)/portal dev

## test: vet, the whole test suite with the race detector, a bounded fuzz run
## and the benchmark harness's smoke run
test: tools test-deps test-go test-lighthouse fuzz bench-smoke dist-check

# Lighthouse runs apart, after the other packages: its performance scores
# would otherwise measure the test binaries running beside it.
LIGHTHOUSE_PKG := ./site/lighthouse

# The packages whose tests run a second time on PostgreSQL (storetest,
# portaltest); the store's own tests run on both engines in the first run.
# Of the API's tests, the role matrix and the leak suite run on both (the
# rest of the API reaches the same store code as the packages above, and
# took 141 s of the 25-minute budget on PostgreSQL).
PG_PKGS := ./account ./alerts ./attest ./audit ./groups ./lease ./mail ./reach ./research ./training
PG_API_TESTS := ^(TestRoutePolicies|TestLeaks)$$

test-go: lint
	$(GO) vet ./...
	$(GO) run ./cmd/portal training lint
	$(GO) run ./cmd/portal content lint
	$(GO) test -race -count=1 -timeout 20m $$($(GO) list ./... | grep -v '/site/lighthouse$$')
	PORTAL_TEST_STORE=postgres $(GO) test -race -count=1 -timeout 20m $(PG_PKGS)
	PORTAL_TEST_STORE=postgres $(GO) test -race -count=1 -timeout 20m -run '$(PG_API_TESTS)' ./api

## test-lighthouse: Lighthouse (pinned in package-lock.json) with Debian's
## Chromium on every template in English and Arabic; fails below 100
test-lighthouse:
	$(GO) test -count=1 -timeout 10m $(LIGHTHOUSE_PKG)

## lint: staticcheck (zero findings) over the portal, the benchmark harness
## and the database builder; govulncheck against the local database over the
## portal: no called vulnerability (tools/vulndb/accepted.txt, empty, is
## where a standard-library one would wait for the next toolchain move).
## The builder's test first proves that the database reports a known
## vulnerability, so that an empty database cannot pass. (govulncheck over
## bench/ would add as long again, for a tool that is never deployed.)
lint: $(VULNDB)/index/modules.json
	$(TOOL) staticcheck ./...
	cd bench && $(TOOL) staticcheck ./...
	cd tools/vulndb && $(GO) vet ./... && $(TOOL) staticcheck ./... && $(GO) test -count=1 ./...
	$(TOOL) govulncheck -db file://$(VULNDB) -format json ./... > $(TOOLS)/govulncheck.json
	cd tools/vulndb && $(GO) run . gate -accept accepted.txt < $(TOOLS)/govulncheck.json

$(VULNDB)/index/modules.json: tools/vulndb/go.mod tools/vulndb/go.sum tools/vulndb/main.go
	cd tools/vulndb && $(GO) run . build -out $(VULNDB)

# Bounded so that CI stays fast; run longer by hand with FUZZTIME=10m.
FUZZTIME ?= 20s
# FuzzMemberFilter runs against a real Meilisearch, one per fuzz worker:
# -parallel 1 keeps it to one.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzQuote$$' -fuzztime $(FUZZTIME) ./search
	$(GO) test -run '^$$' -fuzz '^FuzzMemberFilter$$' -fuzztime $(FUZZTIME) -parallel 1 ./search
	$(GO) test -run '^$$' -fuzz '^FuzzParseMemberQuery$$' -fuzztime $(FUZZTIME) ./api

tools: $(MEILI_BIN) $(HUGO) $(MAILPIT_BIN)

$(MEILI_BIN): scripts/install-meilisearch
	scripts/install-meilisearch $@

# The Hugo version is the one tools/go.mod pins as a tool.
$(HUGO): tools/go.mod tools/go.sum
	$(GO) build -modfile=tools/go.mod -o $@ github.com/gohugoio/hugo

# Mailpit, the SMTP server and inbox of `make run` and the tests, is pinned
# in its own module (tools/mailpit/go.mod): its dependencies would move
# Hugo's.
$(MAILPIT_BIN): tools/mailpit/go.mod tools/mailpit/go.sum
	$(GO) build -modfile=tools/mailpit/go.mod -o $@ github.com/axllent/mailpit

test-deps: $(WEED_BIN)
	scripts/install-test-deps

# SeaweedFS, the real S3-compatible server of the blob, research and
# two-instance tests, built from its Go module at the version the script
# pins (checked against the Go checksum database and the hash pinned there).
# Its replace directives rule out `go install` and a tools module; the
# build takes minutes on 2 cores, once.
$(WEED_BIN): scripts/install-weed
	GO="$(GO)" scripts/install-weed $@
## ocr-deps: Debian's Tesseract with English, French, Spanish and Arabic,
## which reads scanned PDF pages (installed when missing)
ocr-deps:
	scripts/install-ocr-deps

# The benchmark harness is its own module (bench/go.mod) so that its load
# tool, vegeta, stays out of the portal's dependencies.
BENCH_FLAGS ?=

## bench: start Meilisearch and the portal, index a seeded synthetic library,
## run the loads and write docs/benchmarks.{md,json} and
## docs/benchmarks-scaling.svg (under 15 minutes on 2 cores)
bench: tools
	cd bench && $(GO) run ./cmd/bench $(BENCH_FLAGS)

## bench-smoke: the harness on a tiny corpus with 1-second rounds, report in a
## temporary directory; fails if a figure is not produced, if the raw
## requests no longer match the portal's (or the PostgreSQL portal's
## answers the raw ones), or if a request fails, through the two-instance
## proxy too; never on timing (CI, about a minute)
bench-smoke: tools
	cd bench && $(GO) vet ./... && $(GO) test -count=1 ./...
	cd bench && $(GO) run ./cmd/bench -smoke $(BENCH_FLAGS)

## dist: the release archive in dist/: a static portal binary, the public
## site, the members' build, deploy/ and the README, with a SHA-256 file
dist: $(HUGO)
	scripts/dist dist

## dist-check: build the archive twice from this commit and fail unless
## both are the same bytes
dist-check: $(HUGO)
	scripts/dist --check

clean:
	rm -rf $(BIN) site/public site/resources dist
