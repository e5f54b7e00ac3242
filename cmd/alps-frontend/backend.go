package main

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/alps-sched/alps/backend"
	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/frontend"
	"github.com/alps-sched/alps/model"
)

// kernel adapts the sched_ext backend to frontend.Kernel.
type kernel struct {
	s       *backend.Scheduler
	knobs   backend.Knobs
	records chan frontend.Record
	exited  chan frontend.ExitInfo
}

// knobsOf is the backend's default knobs with the policy section's ordering knobs.
func knobsOf(cfg configs.Config) backend.Knobs {
	return withKnobs(backend.DefaultKnobs(), configs.LearnerConfig(cfg).Knobs)
}

// withKnobs is k with the ordering knobs of m.
func withKnobs(k backend.Knobs, m model.Knobs) backend.Knobs {
	k.RankStep, k.MaxPenalty = time.Duration(m.RankStep), time.Duration(m.MaxPenalty)
	k.WakeLag, k.DefaultSlice = time.Duration(m.WakeLag), time.Duration(m.DefaultSlice)
	return k
}

// openBackend loads and attaches the sched_ext backend.
func openBackend(cfg configs.Config, log zerolog.Logger) (frontend.Kernel, error) {
	if err := checkPinDir(cfg.Frontend.PinPath); err != nil {
		return nil, err
	}
	k := knobsOf(cfg)
	// Records are only used at the next update: read them in one burst per update interval
	// rather than wake up for each (under TCG each wake-up costs the daemon ~1 ms of CPU).
	s, err := backend.Load(backend.Options{Knobs: k, PinPath: cfg.Frontend.PinPath, RecordBuffer: cfg.Frontend.RecordBuffer,
		RecordLatency: time.Duration(cfg.Learner.UpdateIntervalMs) * time.Millisecond})
	if err != nil {
		return nil, err
	}
	if err := s.Attach(); err != nil {
		s.Close()
		return nil, err
	}
	t := s.Timings()
	log.Info().Interface("timings", t).Msg("alps backend loaded and attached")
	kk := &kernel{s: s, knobs: k, records: make(chan frontend.Record, 1024), exited: make(chan frontend.ExitInfo, 1)}
	go kk.pump()
	return kk, nil
}

func convertExit(e backend.ExitInfo) frontend.ExitInfo {
	return frontend.ExitInfo{Kind: int64(e.Kind), Code: e.Code, Reason: e.Reason, Message: e.Message}
}

// pump forwards records (never blocking: the backend already drops what its channel cannot
// hold) and reports an ejection.
func (k *kernel) pump() {
	defer close(k.records)
	src := k.s.Records()
	for {
		select {
		case r, ok := <-src:
			if !ok {
				src = nil
				continue
			}
			k.records <- frontendRecord(r)
		case <-k.s.Done():
			if info, ok := k.s.ExitInfo(); ok && info.Ejected() {
				k.exited <- convertExit(info)
			}
			return
		}
	}
}

func (k *kernel) SetPolicy(t *model.Table) error {
	table := map[uint32]backend.Entry{}
	knobs := k.knobs
	if t != nil {
		for fn, e := range t.Entries {
			table[fn] = backend.Entry{Rank: e.Rank, Slice: time.Duration(e.Slice)}
		}
		knobs = withKnobs(knobs, t.Knobs)
		if knobs.DefaultSlice <= 0 {
			knobs.DefaultSlice = k.knobs.DefaultSlice
		}
	}
	return k.s.SetPolicy(table, knobs)
}

// SetRecordLatency implements frontend.RecordLatencySetter: records are drained once per
// update interval, and a reload can change it.
func (k *kernel) SetRecordLatency(d time.Duration) { k.s.SetRecordLatency(d) }

func (k *kernel) Heartbeat() error                             { return k.s.Heartbeat() }
func (k *kernel) SetCgroupFunction(id uint64, fn uint32) error { return k.s.SetCgroupFunction(id, fn) }
func (k *kernel) DeleteCgroup(id uint64) error                 { return k.s.DeleteCgroupFunction(id) }
func (k *kernel) SetCommFunction(c string, fn uint32) error    { return k.s.SetCommFunction(c, fn) }
func (k *kernel) Records() <-chan frontend.Record              { return k.records }
func (k *kernel) Dropped() uint64                              { return k.s.Dropped() }
func (k *kernel) Exited() <-chan frontend.ExitInfo             { return k.exited }

func (k *kernel) Close() (frontend.ExitInfo, error) {
	err := k.s.Close()
	info, _ := k.s.ExitInfo()
	return convertExit(info), err
}
