# bidsieve: see README.md. Every target works on a fresh machine with Go installed.
GO      ?= go
BIN     := bin/bidsieve
PKGS    := ./...
FUZZTIME ?= 2m
GOLANGCI_VERSION := v2.15.0

.PHONY: all build run test test-short lint bench fuzz fuzz-short eval eval-ips e2e loop tidy-check deploy-check clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/bidsieve

# The main job on embedded defaults: simulated DSPs, a model trained on simulated logs
# (made once, under data/demo), the gateway and its web page.
run: build
	./scripts/run.sh

# Unit, integration and short statistical tests, race detector on (CI runs this).
test:
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 14m $(PKGS)

lint:
	@command -v golangci-lint >/dev/null || GOBIN=$$($(GO) env GOPATH)/bin $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" golangci-lint run $(PKGS)

# Benchmarks: hot paths with allocation counts (see docs/BENCHMARKS.md for figures).
bench:
	./scripts/bench.sh

# Long native fuzzing: every fuzz target for FUZZTIME each (2 minutes by default).
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

# Full training-quality run (7 days x 150k requests of simulated logs, train, evaluate):
# cmd/eval; EVAL_FLAGS passes flags to it (go run ./cmd/eval -h lists them).
eval: build
	$(GO) run ./cmd/eval --bin $(BIN) $(EVAL_FLAGS)

# Issue 13's unbiased retraining at full scale (a champion on 2 days, then 7 days x 150k
# requests logged by the gateway in filter mode with it; U, F-IPS and F-noIPS trained on
# them and evaluated on an unfiltered test day): cmd/eval --ips, in process (package
# training/ips); docs/TRAINING.md records a smaller run. IPS_FLAGS passes flags, e.g.
# IPS_FLAGS="--requests 50000 --days 4 --explore 0.05".
eval-ips:
	$(GO) run ./cmd/eval --ips $(IPS_FLAGS)

# Traffic shaping end to end at full scale (7 days x 150k requests, bidsieve train, then the
# gateway with shaping off / shadow / filter on the same requests, CPU per auction, model
# swaps under load): cmd/e2e; docs/SHAPING.md records one. E2E_FLAGS passes flags to it, e.g.
# E2E_FLAGS="--steps 3 --rounds 20" (go run ./cmd/e2e -h lists them).
e2e: build
	$(GO) run ./cmd/e2e --bin $(BIN) $(E2E_FLAGS)

# The closed loop, unattended, on loopback (cmd/loop, e2e.Loop): a model trained on simulated
# logs, 8 simulated days of filter-mode traffic with retrain after each day on the gateway's
# own bid log, two DSPs changing what they buy on day 4 and a DSP joining on day 5; a
# day-by-day table of live and true recall, traffic withheld, the model and the drift guard.
# About 20 minutes on 2 cores; docs/LOOP.md records one. LOOP_FLAGS passes flags to it
# (go run ./cmd/loop -h lists them).
loop:
	$(GO) run ./cmd/loop $(LOOP_FLAGS)

# The deployment files (part of test too): manifests decoded strictly into the Kubernetes
# types, promtool check/test of the alert rules, the dashboard's metrics against a running
# gateway, compose against the manifests. promtool comes from Debian's prometheus package.
deploy-check:
	$(GO) test -count=1 ./deploy/

tidy-check:
	$(GO) mod tidy
	git diff --exit-code go.mod go.sum

clean:
	rm -rf bin
