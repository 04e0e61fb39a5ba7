# riverwatch — see README.md. Everything here works on a fresh machine: the scripts in
# deploy/local install what is missing.
GO      ?= go
BIN     := bin
STATE   := $(or $(RIVERWATCH_STATE_DIR),$(HOME)/.cache/riverwatch/state)

.PHONY: all help build test test-unit test-cluster lint up down status demo bench clean check-deploy

all: build

# -version and riverwatch_build_info say which build runs: the release (VERSION, default
# the nearest tag) and the commit. Without them (go build, go run) the toolchain's VCS
# stamp is used.
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -X github.com/riverwatch/riverwatch/pkg/ops.version=$(VERSION) -X github.com/riverwatch/riverwatch/pkg/ops.revision=$(REVISION)

# Each target's "## " comment is its line in `make help` (a "## target: " line for a
# target whose rule line is better left bare).
## build: build every service into bin/, stamped with VERSION and REVISION
help: ## list the targets
	@sed -n -e 's/^## \([a-z-]*\): /\1\t/p' -e 's/^\([a-z][a-z-]*\):.*## /\1\t/p' $(MAKEFILE_LIST) | \
		awk -F'\t' '{printf "  %-12s %s\n", $$1, $$2}'

build:
	@mkdir -p $(BIN)
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./services/...

lint: ## go vet, gofmt and go mod tidy checks (no servers)
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	@# -diff prints what tidy would change and exits non-zero, touching nothing.
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run 'go mod tidy'"; exit 1; }

test-unit: lint ## every unit test, no servers (integration tests skip); about a minute
	env -u RIVERWATCH_INTEGRATION $(GO) test -count=1 ./...

test: ## everything on real Kafka and ClickHouse (started if needed), schemathesis included
	deploy/local/test.sh

test-cluster: ## the cluster tests on 3 brokers + 2 ClickHouse replicas (started and stopped); 1-2 min
	deploy/local/cluster.sh test

# The operations artefacts (image, compose, Kubernetes, systemd, Prometheus, Grafana), each
# with its own tool; also run by make test.
check-deploy: ## check the operations artefacts (image, compose, Kubernetes, ...), each with its tool
	deploy/check-artefacts.sh

up: build ## start Kafka, ClickHouse and every service in the background
	deploy/local/install.sh
	deploy/local/stack.sh up

down: ## stop what `make up` started
	deploy/local/stack.sh down

status: ## show what is running
	deploy/local/stack.sh status

# The demo runs the responder's playbook clock 30× faster, so a 1 h deadline is 2 minutes.
demo: export RIVERWATCH_RESPONDER_TIME_SCALE ?= 30
demo: up ## start the stack and narrate a simulated spill end to end
	deploy/local/demo.sh

bench: build ## throughput and latency beside raw Kafka and ClickHouse
	deploy/local/install.sh
	deploy/local/bench.sh

clean: ## remove bin/ and artifacts/
	rm -rf $(BIN) artifacts
