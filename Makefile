GO ?= go
# The race pass leaves two compute kernels uninstrumented: modernc's SQLite
# (C translated to Go) and x/crypto's password hashes (argon2id, bcrypt).
# Instrumenting them cost the pass most of its time and watches their own
# memory, not ours. Our code, and every handover through sync and channels,
# stays under the detector.
NORACE = modernc.org/... golang.org/x/crypto/argon2 golang.org/x/crypto/blake2b golang.org/x/crypto/bcrypt golang.org/x/crypto/blowfish
RACE_FLAGS = -race $(foreach p,$(NORACE),-gcflags='$(p)=-race=false')
# Packages whose code runs goroutines or shares state across them, the
# longest-running first: go test starts packages in this order, so the
# short ones fill the cores at the end instead of api waiting alone.
RACE_PKGS = ./api/... ./rotate/... ./web/... ./store/... ./driver/... ./acme/... ./dns/... ./notify/... ./metrics/... ./sim/...

.PHONY: test vet lint staticcheck vulncheck bench bench-postgres bench-issue bench-overhead bench-fleet bench-search build fuzz fuzz-ci

## test: the suite, each test once (.ci/test): the concurrent packages under the race detector, beside them vet and the format check, then the rest without the detector; the chaos tests alone; then every skipped test with its reason
test:
	GO=$(GO) VET="$(MAKE) --no-print-directory vet" RACE_FLAGS="$(RACE_FLAGS)" RACE_PKGS="$(RACE_PKGS)" .ci/test

## vet: go vet and gofmt
vet:
	$(GO) vet ./...
	$(GO) vet -tags nodemo ./cmd/ottr
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## lint: vet, staticcheck and govulncheck (pinned versions the module proxy serves)
lint: vet staticcheck vulncheck

staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

## vulncheck: govulncheck against a pinned snapshot of the Go vulnerability database (see .ci/vulncheck)
vulncheck:
	GO=$(GO) .ci/vulncheck

## bench: router pass over 1,000,000 generated assets on SQLite (see bench/README.md)
bench:
	cd bench && OTTR_BENCH_ASSETS=$${OTTR_BENCH_ASSETS:-1000000} $(GO) test -run '^$$' -bench 'RouterPass|FullScan' -benchtime 5x -benchmem -timeout 60m

## bench-postgres: the same on PostgreSQL (OTTR_TEST_POSTGRES_DSN)
bench-postgres:
	cd bench && OTTR_BENCH_ENGINE=postgres OTTR_BENCH_ASSETS=$${OTTR_BENCH_ASSETS:-1000000} $(GO) test -run '^$$' -bench 'RouterPass|FullScan' -benchtime 5x -benchmem -timeout 60m

## bench-issue: one issuance against a local Pebble, ottr vs lego vs certbot (needs bind9 bind9-dnsutils lego certbot)
bench-issue:
	cd bench && $(GO) test -run '^$$' -bench Issue -benchtime 3x -timeout 30m

## bench-overhead: what `ottr acme issue` costs before it asks the CA (issue 16: < 50 ms)
bench-overhead:
	cd bench && $(GO) test -run '^$$' -bench IssueOverhead -benchtime 30x -timeout 10m

## bench-search: GET /api/v1/search on 100,000 assets under concurrent load (SPEC §6: p99 < 50 ms)
bench-search:
	cd bench && OTTR_BENCH_ASSETS=$${OTTR_BENCH_ASSETS:-100000} $(GO) test -run '^$$' -bench Search -benchtime 1x -timeout 30m

## bench-fleet: 10,000 simulated devices rotated end to end with 50 workers (SPEC §8: < 10 min)
bench-fleet:
	cd bench && OTTR_BENCH_DEVICES=$${OTTR_BENCH_DEVICES:-10000} $(GO) test -run '^$$' -bench RotateFleet -benchtime 1x -timeout 60m

## fuzz: run every fuzz target (found by .ci/fuzz) for FUZZTIME each (default 60s)
FUZZTIME ?= 60s
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) .ci/fuzz

## fuzz-ci: every fuzz target for 30s each, as CI runs them
fuzz-ci:
	GO=$(GO) FUZZTIME=30s .ci/fuzz

## build: the release binary: no demo CA or simulators (-tags nodemo), stripped, reproducible paths
build:
	CGO_ENABLED=0 $(GO) build -tags nodemo -trimpath -ldflags "-s -w" -o bin/ottr ./cmd/ottr
