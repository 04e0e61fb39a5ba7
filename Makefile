# riverwatch — see README.md. Everything here works on a fresh machine: the scripts in
# deploy/local install what is missing.
GO      ?= go
BIN     := bin
STATE   := $(or $(RIVERWATCH_STATE_DIR),$(HOME)/.cache/riverwatch/state)

.PHONY: all build test lint up down status demo bench clean check-deploy

all: build

# -version and riverwatch_build_info say which build runs: the release (VERSION, default
# the nearest tag) and the commit. Without them (go build, go run) the toolchain's VCS
# stamp is used.
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -X github.com/riverwatch/riverwatch/pkg/ops.version=$(VERSION) -X github.com/riverwatch/riverwatch/pkg/ops.revision=$(REVISION)

build:
	@mkdir -p $(BIN)
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./services/...

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt: $$out"; exit 1; fi

test:
	deploy/local/test.sh

# The operations artefacts (image, compose, Kubernetes, systemd, Prometheus, Grafana), each
# with its own tool; also run by make test.
check-deploy:
	deploy/check-artefacts.sh

up: build
	deploy/local/install.sh
	deploy/local/stack.sh up

down:
	deploy/local/stack.sh down

status:
	deploy/local/stack.sh status

# The demo runs the responder's playbook clock 30× faster, so a 1 h deadline is 2 minutes.
demo: export RIVERWATCH_RESPONDER_TIME_SCALE ?= 30
demo: up
	deploy/local/demo.sh

bench: build
	deploy/local/install.sh
	deploy/local/bench.sh

clean:
	rm -rf $(BIN) artifacts
