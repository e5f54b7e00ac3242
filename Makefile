# alps: a learning CPU scheduler for serverless hosts, on sched_ext.
SHELL := /bin/bash
GO    ?= go
BIN   := bin
export CGO_ENABLED ?= 0

.PHONY: all build test unit-test fuzz fuzz-short lint vm-test bench demo demo-short demo-warm experiment native generate check-generated deps clean

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

## fuzz: every fuzz target (untrusted inputs: traces, Azure files, records, configs, tune
## spaces) for FUZZTIME each; new failing inputs land in the package's testdata/fuzz
FUZZ_TARGETS := ./sim/trace:FuzzReadCSV ./sim/trace:FuzzReadAzure ./experiments/loadgen:FuzzReadResults \
	./configs:FuzzReadYAML ./cmd/alps-sim:FuzzParseSpace
FUZZTIME ?= 5m
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz: $${t##*:} ($${t%%:*}) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t##*:}\$$" -fuzztime $(FUZZTIME) "$${t%%:*}"; \
	done

## fuzz-short: the fuzz targets for 10 s each (CI runs it after make test; make test itself
## replays only the committed corpora, so that it passes or fails the same way every time)
fuzz-short:
	$(MAKE) fuzz FUZZTIME=10s

## lint: gofmt, go vet, staticcheck, and no product package importing experiments/ (.ci/lint)
lint:
	bash .ci/lint

## vm-test: the kernel tests (TestKernel*) as go test binaries in the VM (qemu, TCG, Debian sched_ext kernel)
vm-test: deps
	bash experiments/vm/vm-test.sh

## bench: the speed and memory benchmarks whose figures the README quotes
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./sim/ ./model/ ./invocation/

## demo: the end-to-end experiment (default vs vtime vs alps) in the VM
demo: deps build
	bash experiments/demo.sh

## experiment: make demo's experiment at loads 0.5/0.7/0.85/0.95 x 3 seeds (about 40 min; not in CI)
experiment: deps build
	bash experiments/experiment.sh

## native: the simulator's default-scheduler model against this host's own kernel (root, no VM)
native: build
	bash experiments/native.sh

## demo-warm: make demo with warm invocations: one long-lived worker per function serves its
## invocations as requests, marking their boundaries (package invocation); same trace, same
## figures, into experiments/results/warm
demo-warm: deps build
	bash experiments/demo.sh --warm --out experiments/results/warm

## demo-short: the short version CI runs (gates on nothing lost or ejected and the loop closing)
demo-short: deps build
	bash experiments/demo.sh --short

## generate: rebuild the BPF objects with clang-19 (only needed after editing backend/bpf)
generate:
	bash backend/bpf/generate.sh

## check-generated: regenerate the BPF objects (clang-19) and fail if they differ from the committed ones
check-generated:
	bash .ci/generated

## deps: system packages and the sched_ext kernel (idempotent)
deps:
	bash experiments/vm/deps.sh

clean:
	rm -rf $(BIN)
