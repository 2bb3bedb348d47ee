# dxwatch — see README.md. As root, `make demo` runs the lab demo; `make check` runs every test.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.revision=$(REVISION)
PKGS      := ./...
STATICCHECK ?= $(shell $(GO) env GOPATH)/bin/staticcheck

.PHONY: all build deps test test-fuzz test-lab lint bench bench-lab demo check clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/dxwatch ./cmd/dxwatch
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/dxwatch-fakeaws ./lab/cmd/dxwatch-fakeaws

deps:
	./scripts/deps.sh

# Unit and loopback tests, the slow ones too (DXWATCH_SLOW=1: probes/bgp's
# tests that wait on GoBGP's timers; a plain `go test ./...` skips them and
# every lab test). Lab tests (TestLab*) are left to test-lab.
test:
	DXWATCH_SLOW=1 $(GO) test -race -count=1 -skip '^TestLab' $(PKGS)
	# GoBGP's BMP client (the router side of this test) races with itself.
	$(GO) test -count=1 -run '^TestBMPFromGoBGP$$' ./probes/bgp/

# Every fuzz target, briefly (FUZZTIME each; go test fuzzes one target per
# run): the configuration loader, the traceroute reply parser and the BMP
# station's decoder and the lean BGP session's UPDATE handling. Crashers
# land in the package's testdata/fuzz/ and then run with every go test.
FUZZTIME ?= 20s
test-fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./agent/config/
	$(GO) test -run '^$$' -fuzz '^FuzzParseReply$$' -fuzztime $(FUZZTIME) ./probes/trace/
	$(GO) test -run '^$$' -fuzz '^FuzzBMPDecode$$' -fuzztime $(FUZZTIME) ./probes/bgp/
	$(GO) test -run '^$$' -fuzz '^FuzzLeanUpdate$$' -fuzztime $(FUZZTIME) ./probes/bgp/

# Integration tests against the network-namespace lab (root, FRR). One
# package at a time: each brings its own lab up and tears it down.
test-lab: deps
	@[ "$$(id -u)" -eq 0 ] || { echo "test-lab needs root (network namespaces, FRR): run it as root (e.g. sudo make test-lab)"; exit 1; }
	DXWATCH_LAB=1 $(GO) test -race -count=1 -p 1 -timeout 40m -run '^TestLab' $(PKGS)

lint:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "gofmt would change:"; echo "$$out"; exit 1; }
	@[ -x $(STATICCHECK) ] || $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	$(STATICCHECK) $(PKGS)
	@cp go.mod /tmp/dxwatch.go.mod.bak && cp go.sum /tmp/dxwatch.go.sum.bak && $(GO) mod tidy && \
	  if ! git diff --quiet -- go.mod go.sum; then echo "go mod tidy changes go.mod/go.sum: run it and commit"; \
	  cp /tmp/dxwatch.go.mod.bak go.mod; cp /tmp/dxwatch.go.sum.bak go.sum; exit 1; fi

# Benchmarks that need no lab. The lab's (BenchmarkLab*) are left to bench-lab.
bench:
	$(GO) test -run '^$$' -bench . -skip '^BenchmarkLab' -benchmem -count=1 -timeout 30m $(PKGS)

# Detection latency in the lab (issue #8): after a carrier cut and silent
# cuts of the primary, dxwatch (100 ms probing) against the edge's BFD and
# BGP. One cut per case (-benchtime 1x; more with BENCHTIME=3x); some
# 3 minutes, most of it BGP's 90 s hold timer in the case without BFD.
# With per-link probe sources too, at 100 ms and 20 ms probing, each case
# counting false verdicts against the secondary (issue #14); then a soak of
# DXWATCH_SOAK (default 10m) at 20 ms probing with both cores saturated by
# stress-ng, counting every false down or unverified. Then the time of a
# trace in the lab, dxwatch beside traceroute, mtr and scamper.
BENCHTIME ?= 1x
bench-lab: deps
	@[ "$$(id -u)" -eq 0 ] || { echo "bench-lab needs root (network namespaces, FRR): sudo make bench-lab"; exit 1; }
	DXWATCH_LAB=1 $(GO) test -run '^$$' -bench '^BenchmarkLab' -benchtime $(BENCHTIME) -count=1 -timeout 30m ./agent/
	DXWATCH_LAB=1 $(GO) test -run '^$$' -bench '^BenchmarkLab' -count=1 -timeout 10m ./probes/trace/

# The lab demo: lab, agent, Prometheus with the alert rules. Ctrl-C tears it down.
demo:
	@[ "$$(id -u)" -eq 0 ] || { echo "the demo needs root (network namespaces): run make demo as root (e.g. sudo make demo)"; exit 1; }
	@echo "==> [1/4] checking the Debian packages the lab needs (FRR, Prometheus, network tools; installed on first run, a minute or two)"
	@./scripts/deps.sh
	@echo "==> [2/4] building dxwatch and the fake AWS endpoint (the first build fetches Go modules and takes a while)"
	@$(MAKE) --no-print-directory build
	@echo "==> [3/4] building dxlab"
	@$(GO) build -o bin/dxlab ./lab/cmd/dxlab
	@echo "==> [4/4] starting the lab (FRR routers in network namespaces), dxwatch and Prometheus"
	./bin/dxlab demo --dxwatch bin/dxwatch

# Everything CI runs: lint, unit tests, fuzzing, lab tests.
check: deps lint test test-fuzz test-lab

clean:
	rm -rf bin dist
