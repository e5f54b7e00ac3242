package main

import (
	"github.com/rs/zerolog"

	"github.com/alps-sched/alps/backend/tracer"
	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/frontend"
	"github.com/alps-sched/alps/policy"
)

// traceKernel is the kernel side of a live dry run: invocation records come from the
// tracepoints of backend/tracer (no sched_ext needed), classifications go into the tracer's
// maps, and policy decisions are only logged (frontend.LogKernel).
type traceKernel struct {
	*frontend.LogKernel
	t   *tracer.Tracer
	log zerolog.Logger
}

// openTracer loads the tracer for a live dry run.
func openTracer(cfg configs.Config, log zerolog.Logger) (frontend.Kernel, error) {
	t, err := tracer.Load(tracer.Options{RecordBuffer: cfg.Frontend.RecordBuffer})
	if err != nil {
		return nil, err
	}
	return &traceKernel{LogKernel: frontend.NewLogKernel(log), t: t, log: log}, nil
}

func (k *traceKernel) SetCgroupFunction(id uint64, fn uint32) error {
	k.log.Debug().Uint64("cgroup_id", id).Uint32("function", fn).Msg("dry run: tracing cgroup")
	return k.t.SetCgroupFunction(id, fn)
}

func (k *traceKernel) DeleteCgroup(id uint64) error { return k.t.DeleteCgroupFunction(id) }

func (k *traceKernel) SetCommFunction(comm string, fn uint32) error {
	k.log.Debug().Str("comm", comm).Uint32("function", fn).Msg("dry run: tracing process name")
	return k.t.SetCommFunction(comm, fn)
}

// Records are the tracer's; when the daemon is slow the tracer's buffer fills and drops
// (counted in Dropped), never the kernel side.
func (k *traceKernel) Records() <-chan policy.Record { return k.t.Records() }
func (k *traceKernel) Dropped() uint64               { return k.t.Dropped() }

func (k *traceKernel) Close() (policy.ExitInfo, error) {
	err := k.t.Close()
	k.LogKernel.Close()
	return policy.ExitInfo{}, err
}
