package main

import (
	"github.com/rs/zerolog"

	"github.com/alps-sched/alps/backend"
	"github.com/alps-sched/alps/backend/tracer"
	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/frontend"
)

// traceKernel is the kernel side of a live dry run: invocation records come from the
// tracepoints of backend/tracer (no sched_ext needed), classifications go into the tracer's
// maps, and policy decisions are only logged (frontend.LogKernel).
type traceKernel struct {
	*frontend.LogKernel
	t       *tracer.Tracer
	log     zerolog.Logger
	records chan frontend.Record
}

// openTracer loads the tracer for a live dry run.
func openTracer(cfg configs.Config, log zerolog.Logger) (frontend.Kernel, error) {
	t, err := tracer.Load(tracer.Options{RecordBuffer: cfg.Frontend.RecordBuffer})
	if err != nil {
		return nil, err
	}
	k := &traceKernel{LogKernel: frontend.NewLogKernel(log), t: t, log: log, records: make(chan frontend.Record, 1024)}
	go k.pump()
	return k, nil
}

// pump forwards the tracer's records; when the daemon is slow the tracer's own buffer fills
// and drops (counted in Dropped), never the kernel side.
func (k *traceKernel) pump() {
	defer close(k.records)
	for r := range k.t.Records() {
		k.records <- frontendRecord(r)
	}
}

func frontendRecord(r backend.Record) frontend.Record {
	return frontend.Record{Function: r.Function, PID: r.PID, Start: r.Start, End: r.End, CPU: r.CPU,
		RunDelay: r.RunDelay, Nvcsw: r.Nvcsw, Nivcsw: r.Nivcsw}
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

func (k *traceKernel) Records() <-chan frontend.Record { return k.records }
func (k *traceKernel) Dropped() uint64                 { return k.t.Dropped() }

func (k *traceKernel) Close() (frontend.ExitInfo, error) {
	err := k.t.Close()
	k.LogKernel.Close()
	return frontend.ExitInfo{}, err
}
