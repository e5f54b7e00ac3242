package main

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/alps-sched/alps/backend"
	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/frontend"
	"github.com/alps-sched/alps/policy"
)

// heartbeatStale is how old the daemon's heartbeat may get before the scheduler stops
// trusting the table (Options.HeartbeatStale).
const heartbeatStale = 3 * time.Second

// kernel adapts the sched_ext backend to frontend.Kernel: records and tables pass through
// as they are; it only turns the scheduler's stop into the daemon's Exited.
type kernel struct {
	*backend.Scheduler
	exited chan policy.ExitInfo
}

// openBackend loads and attaches the sched_ext backend.
func openBackend(cfg configs.Config, log zerolog.Logger) (frontend.Kernel, error) {
	if err := checkPinDir(cfg.Frontend.PinPath); err != nil {
		return nil, err
	}
	gid, err := invocationGroup(cfg.Frontend)
	if err != nil {
		return nil, err
	}
	// Records are only used at the next update: read them in one burst per update interval
	// rather than wake up for each (under TCG each wake-up costs the daemon ~1 ms of CPU).
	s, err := backend.Load(backend.Options{Knobs: configs.LearnerConfig(cfg).Knobs, HeartbeatStale: heartbeatStale,
		PinPath: cfg.Frontend.PinPath, RecordBuffer: cfg.Frontend.RecordBuffer,
		InvocationMap: cfg.Frontend.InvocationMap, InvocationGroup: gid,
		RecordLatency: time.Duration(cfg.Learner.UpdateIntervalMs) * time.Millisecond})
	if err != nil {
		return nil, err
	}
	if err := s.Attach(); err != nil {
		s.Close()
		return nil, err
	}
	log.Info().Interface("timings", s.Timings()).Msg("alps backend loaded and attached")
	k := &kernel{Scheduler: s, exited: make(chan policy.ExitInfo, 1)}
	go k.watch()
	return k, nil
}

// watch reports a stop the daemon did not ask for: an ejection, or the kernel unregistering
// the scheduler (SysRq-S).
func (k *kernel) watch() {
	<-k.Done()
	if info, ok := k.ExitInfo(); ok && info.Kind != 0 && info.Kind != exitUnregisteredByUser {
		k.exited <- info
	}
}

// exitUnregisteredByUser is SCX_EXIT_UNREG: the loader (this daemon) detached.
const exitUnregisteredByUser = 64

func (k *kernel) DeleteCgroup(id uint64) error   { return k.DeleteCgroupFunction(id) }
func (k *kernel) Exited() <-chan policy.ExitInfo { return k.exited }
func (k *kernel) Close() (policy.ExitInfo, error) {
	err := k.Scheduler.Close()
	info, _ := k.ExitInfo()
	return info, err
}
