# alps: a learning CPU scheduler for serverless hosts, on sched_ext.
SHELL := /bin/bash
GO    ?= go
BIN   := bin
export CGO_ENABLED ?= 0

.PHONY: all build test unit-test vm-test bench demo demo-short generate deps clean

all: build

# The payload without the Go runtime where there is an assembly entry point for it
# (experiments/workload.PayloadLDFlags).
PAYLOAD_LDFLAGS = $(if $(filter amd64,$(shell $(GO) env GOARCH)),-E=main.start,)

## build: the binaries into bin/ (static, no clang needed: BPF objects are committed)
build:
	$(GO) build -o $(BIN)/ ./cmd/...
	$(GO) build -ldflags="$(PAYLOAD_LDFLAGS)" -o $(BIN)/alps-payload ./cmd/alps-payload

## test: unit tests, then the VM suite on a real sched_ext kernel (installs what it needs)
test: unit-test vm-test

unit-test:
	$(GO) vet ./...
	CGO_ENABLED=1 $(GO) test -count=1 ./...

## vm-test: the backend's VM suite alone (qemu, TCG, Debian sched_ext kernel)
vm-test: deps build
	bash experiments/vm/vm-test.sh

## bench: the speed and memory benchmarks whose figures the README quotes
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./sim/ ./model/

## demo: the end-to-end experiment (default vs vtime vs alps) in the VM
demo: deps build
	bash experiments/demo.sh

## demo-short: the short version CI runs (gates on nothing lost or ejected and the loop closing)
demo-short: deps build
	bash experiments/demo.sh --short

## generate: rebuild the BPF objects with clang-19 (only needed after editing backend/bpf)
generate:
	bash backend/bpf/generate.sh

## deps: system packages and the sched_ext kernel (idempotent)
deps:
	bash experiments/vm/deps.sh

clean:
	rm -rf $(BIN)
