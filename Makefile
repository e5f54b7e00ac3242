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
## spaces, the daemon's state file) for FUZZTIME each; new failing inputs land in the
## package's testdata/fuzz
# Each target is package:name:executions, the executions being fuzz-short's budget.
FUZZ_TARGETS := ./sim/trace:FuzzReadCSV:200000 ./sim/trace:FuzzReadAzure:200000 \
	./experiments/loadgen:FuzzReadResults:200000 ./configs:FuzzReadYAML:5000 \
	./cmd/alps-sim:FuzzParseSpace:10000 ./frontend:FuzzReadState:50000
FUZZTIME ?= 5m
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do IFS=: read -r pkg name n <<< "$$t"; \
		echo "fuzz: $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
	done

## fuzz-short: each fuzz target for a fixed number of executions (about 10 s each here; CI
## runs it after make test, which itself replays only the committed corpora). Counts, not a
## duration: a -fuzztime duration can fail with a bare "context deadline exceeded" as it
## ends (golang/go#75804, a race in Go's fuzzing coordinator fixed in Go 1.27).
fuzz-short:
	@set -e; for t in $(FUZZ_TARGETS); do IFS=: read -r pkg name n <<< "$$t"; \
		echo "fuzz: $$name ($$pkg) for $$n executions"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime "$${n}x" -fuzzminimizetime 100x "$$pkg"; \
	done

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
