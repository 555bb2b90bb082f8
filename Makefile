# vigil's build. `make test` is the one command that runs every test (CI runs it too).
#
# Every target builds with the patched Go named here (go.mod's toolchain line), whatever Go
# the machine starts with: the go command fetches it from the module proxy once (~76 MB).
# Go 1.26.8's standard library has known vulnerabilities (docs/reliability.md#dependencies).
export GOTOOLCHAIN := go1.27.3
GO            ?= go
STATICCHECK_VERSION ?= v0.8.2
# staticcheck must be built by the Go it checks with, so each toolchain gets its own binary.
STATICCHECK   ?= $(shell $(GO) env GOPATH)/bin/staticcheck-$(STATICCHECK_VERSION)-$(GOTOOLCHAIN)
FUZZTIME      ?= 5s
BENCHTIME     ?= 1s
BENCHCOUNT    ?= 6
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT        ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE          ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS       := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)

.PHONY: all build dashboards test unit lint fmt-check vet staticcheck fuzz fuzz-smoke bench tidy-check vulncheck

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o vigil ./cmd/vigil

## dashboards: regenerate the Grafana dashboards' JSON from package dashboards.
dashboards:
	$(GO) run ./dashboards/gen

## test: lint, govulncheck, every test with the race detector, and a short run of every fuzz target.
test: lint vulncheck unit fuzz-smoke

# deploy/ builds vigil and its image and runs a real Prometheus: minutes on a cold cache.
unit:
	$(GO) test -race -count=1 -timeout 30m ./...

lint: fmt-check vet staticcheck tidy-check

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	@test -x "$(STATICCHECK)" || { d=$$(mktemp -d) && GOBIN=$$d $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) && \
		mkdir -p "$$(dirname $(STATICCHECK))" && mv $$d/staticcheck "$(STATICCHECK)" && rmdir $$d; }
	$(STATICCHECK) ./...

tidy-check:
	@cp go.mod /tmp/vigil-go.mod.check && cp go.sum /tmp/vigil-go.sum.check && $(GO) mod tidy && \
	if ! cmp -s go.mod /tmp/vigil-go.mod.check || ! cmp -s go.sum /tmp/vigil-go.sum.check; then \
		cp /tmp/vigil-go.mod.check go.mod; cp /tmp/vigil-go.sum.check go.sum; \
		echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; fi

## fuzz-smoke: every fuzz target in the tree (found with go test -list) for FUZZTIME
## (default 5s); `make fuzz FUZZTIME=10m` for longer. Go's fuzzing coordinator sometimes
## ends a run on a loaded machine with "context deadline exceeded" and no failing input;
## such a run is retried once. A run that finds a failing input always fails.
fuzz-smoke fuzz:
	@set -e; out=$$(mktemp); trap 'rm -f $$out' EXIT; \
	for pkg in $$($(GO) list ./...); do \
		for name in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
			if ! $(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) $$pkg >$$out 2>&1; then \
				cat $$out; \
				if grep -q 'context deadline exceeded' $$out && ! grep -q 'Failing input written' $$out; then \
					echo "fuzz $$pkg $$name: the coordinator timed out without a failing input; once more"; \
					$(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) $$pkg; \
				else exit 1; fi; \
			else cat $$out; fi; \
		done; \
	done

## bench: every benchmark, benchstat-ready (`make bench > new.txt; benchstat old.txt new.txt`).
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) -count=$(BENCHCOUNT) ./...

## vulncheck: govulncheck against the Go vulnerability database as the module proxy serves
## it (golang.org/x/vulndb, indexed locally: vuln.go.dev itself is not reachable here).
VULNDB_VERSION ?= v0.0.0-20261105234957-e22db6528018
GOVULNCHECK_VERSION ?= v1.9.0
vulncheck:
	@dir=$$($(GO) mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'); \
	rm -rf /tmp/vigil-vulndb && \
	$(GO) run golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION) -vulns "$$dir/data/osv" -out /tmp/vigil-vulndb && \
	$(GO) run golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION) -db file:///tmp/vigil-vulndb ./...
