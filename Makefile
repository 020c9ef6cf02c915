# Run `make` or `make help` for the list of targets.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO       ?= go
TOOLS    := $(shell $(GO) env GOPATH)/bin
BIN      := bin/lienthong
DATA     ?= ./data
ADDR     ?=
FUZZTIME ?= 30s

VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  = -X github.com/lienthong/lienthong/internal/cli.Version=$(VERSION)

GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT         := $(TOOLS)/golangci-lint

.PHONY: help build run test tools test-short fuzz bench lint fmt tidy clean

##@ General

help: ## Show this help
	@awk 'BEGIN { FS = ":.*##"; printf "Usage: make <target> [FUZZTIME=30s]\n" } \
		/^[a-zA-Z0-9_-]+:.*##/ { printf "  %-12s %s\n", $$1, $$2 } \
		/^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Build and run

build: ## Build bin/lienthong, stamped with git describe
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/lienthong

run: build ## Run the hub on the embedded default (broker, store, hub, demo agencies; data in ./data; ADDR=host:port for another port)
	$(BIN) dev --data $(DATA) $(if $(ADDR),--addr $(ADDR))

##@ Test

# The packages whose tests run goroutines against each other (consumers,
# group commits, replicas, pushers, pollers) run under the race detector; the
# rest run plain, where -race would only cost time. Both runs always happen,
# inside one with-services (one versitygw), and either failing fails the target.
RACE_PKGS  = $(addprefix $(MODULE)/internal/,bus boltgroup hub api track push creds logouts edge console metrics vdxp tracing trust)
PLAIN_PKGS = $(filter-out $(RACE_PKGS),$(shell $(GO) list ./...))
MODULE     = $(shell $(GO) list -m)

# Lint runs first (it installs the pinned golangci-lint if missing), so that
# go test's closing lines end the output; the tests run whatever lint says.
test: tools ## Vet, lint, and run every test against real servers, -race where there is concurrency, fuzz seed corpora included (what CI runs)
	$(GO) vet ./...
	@lint=0; $(MAKE) --no-print-directory lint || lint=1; rc=0; \
	scripts/with-services.sh bash -c 'failed=; \
		$(GO) test -count=1 -race $(RACE_PKGS) || failed="$$failed go-test-race"; \
		$(GO) test -count=1 $(PLAIN_PKGS) || failed="$$failed go-test"; \
		if [ -n "$$failed" ]; then echo "FAIL:$$failed (see above)"; exit 1; fi' || rc=$$?; \
	if [ "$$lint" != 0 ]; then echo "FAIL: lint (see above)"; exit 1; fi; exit $$rc

tools: ## Install the programs tests check against (openssl, xmlsec1, xmllint, chromium, promtool) if missing
	scripts/install-test-tools.sh

test-short: ## Run the tests that are quick (go test -short)
	$(GO) test -short ./...

# A fuzz run fails only on a finding (a new reproducer under testdata/fuzz, or
# a failure that is not Go 1.26's "context deadline exceeded" at the
# -fuzztime boundary, go.dev/issue/75804): see scripts/fuzz.sh.
fuzz: ## Run every FuzzXxx in the repo for FUZZTIME each (default 30s; a count such as 100000x works too)
	GO=$(GO) FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

bench: ## Run the benchmarks
	$(GO) test -run=NONE -bench=. -benchmem ./...

##@ Code quality

lint: ## Run golangci-lint (version pinned here; installed if missing)
	@if [ "$$($(GOLANGCI_LINT) version --short 2>/dev/null)" != "$(GOLANGCI_LINT_VERSION:v%=%)" ]; then \
		echo "installing golangci-lint $(GOLANGCI_LINT_VERSION) into $(TOOLS)"; \
		GOBIN=$(TOOLS) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION); \
	fi
	$(GOLANGCI_LINT) run ./...

fmt: ## gofmt -s -w the Go files git knows (tracked, or new and not ignored)
	git ls-files -z --cached --others --exclude-standard -- '*.go' | xargs -0 -r gofmt -s -w

tidy: ## go mod tidy
	$(GO) mod tidy

clean: ## Remove build output (bin/)
	rm -rf bin/
