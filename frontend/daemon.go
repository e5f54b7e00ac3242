package frontend

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/model"
	"github.com/alps-sched/alps/policy"
)

// Options configure a Daemon.
type Options struct {
	Config configs.Config
	Kernel Kernel
	// NewLearner builds the learner from the configuration (at start, once more for a
	// throwaway warm-up before the loop, and on every reload).
	NewLearner func(configs.Config) (Learner, error)
	Log        zerolog.Logger
	// Metrics, when not nil, receives the daemon's metrics.
	Metrics *Metrics
	// Now returns the time in the clock of the records' Start and End (CLOCK_MONOTONIC by
	// default).
	Now func() int64
}

// Daemon is the frontend's control loop. Create it with New and run it with Run.
type Daemon struct {
	opts    Options
	log     zerolog.Logger
	kernel  Kernel
	metrics *Metrics
	reg     *Registry
	class   *Classifier
	now     func() int64
	reload  chan configs.Config

	mu        sync.Mutex
	pending   []policy.Record
	evictions []eviction // ids reused since the last update
	dropped   uint64     // records dropped by the frontend
	received  uint64

	// owned by the loop
	cfg      configs.Config
	learner  Learner
	table    *policy.Table
	spare    []policy.Record // the other half of pending, swapped in at every update
	seen     int64           // records the learner's window had taken at the last update; -1 forces one
	lastBeat time.Time
	lat      latencies
	latCPU   latencies // the process's CPU time during each update (the rest of lat is waiting)
	started  time.Time
	cpu0     time.Duration
	updates  uint64
	skipped  uint64          // updates skipped because the window had not changed
	first    time.Duration   // the first update's latency (also in lat)
	perClass map[uint32]bool // the functions learned per class hint at the last update
	saved    time.Time       // the last save of the state file
}

// eviction is an id the registry gave to another function after the first at records of
// pending: those were the old function's, the later ones the new one's.
type eviction struct {
	id uint32
	at int
}

// Forgetter is implemented by learners that can drop what they learned of a function
// (model.Learner): the daemon calls it when the function's id is reused.
type Forgetter interface {
	Forget(fn uint32)
}

// New checks the options and builds a daemon; it does not touch the kernel yet.
func New(opts Options) (*Daemon, error) {
	if opts.Kernel == nil || opts.NewLearner == nil {
		return nil, errors.New("frontend: Kernel and NewLearner are required")
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	rules, err := NewCgroupRules(opts.Config.Frontend.CgroupPatterns)
	if err != nil {
		return nil, err
	}
	if _, err := ParseProcessNames(opts.Config.Frontend.ProcessNames); err != nil {
		return nil, err
	}
	l, err := opts.NewLearner(opts.Config)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = Monotonic
	}
	m := opts.Metrics
	if m == nil {
		m = NewMetrics()
	}
	reg := NewRegistry(opts.Config.Learner.MaxFunctions)
	d := &Daemon{
		opts: opts, log: opts.Log, kernel: opts.Kernel, metrics: m, reg: reg, now: now,
		reload: make(chan configs.Config, 1), cfg: opts.Config, learner: l,
		lat: newLatencies(4096), latCPU: newLatencies(4096), seen: -1,
	}
	d.class = NewClassifier(opts.Kernel, reg, opts.Config.Frontend.CgroupRoot, rules, opts.Log, d.evicted)
	return d, nil
}

// evicted notes that id now names another function: at the next update the learner forgets
// the old function's records, those pending included.
func (d *Daemon) evicted(id uint32) {
	d.mu.Lock()
	d.evictions = append(d.evictions, eviction{id: id, at: len(d.pending)})
	d.mu.Unlock()
}

// Monotonic returns CLOCK_MONOTONIC in nanoseconds, the clock of bpf_ktime_get_ns.
func Monotonic() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return time.Now().UnixNano()
	}
	return ts.Nano()
}

// Registry returns the daemon's function registry (names of the ids in the table).
func (d *Daemon) Registry() *Registry { return d.reg }

// Reload asks the running daemon to apply a new configuration's learner and policy parameters
// (and the learning switch) without detaching. The window of records is kept.
func (d *Daemon) Reload(cfg configs.Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	select {
	case <-d.reload: // a newer request replaces a pending one
	default:
	}
	d.reload <- cfg
	return nil
}

// Run classifies, then drives the learning loop until ctx ends (then detaches and returns nil)
// or the kernel ejects the scheduler (then returns an *EjectedError).
func (d *Daemon) Run(ctx context.Context) error {
	d.started, d.cpu0 = time.Now(), processCPU()
	procRules, _ := ParseProcessNames(d.cfg.Frontend.ProcessNames)
	if err := d.class.ApplyProcessNames(procRules); err != nil {
		d.kernel.Close()
		return err
	}
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	ready := make(chan struct{})
	go d.class.Watch(wctx, ready)
	<-ready
	d.log.Info().Int("cgroups", d.class.Classified()).Int("process_names", len(procRules)).
		Bool("learning", d.cfg.Frontend.Learning).Dur("update_interval", d.interval()).Msg("classified; learning loop started")

	d.warmUp()
	d.restore()
	intakeDone := make(chan struct{})
	go d.intake(intakeDone)
	if err := d.beat(); err != nil {
		d.log.Warn().Err(err).Msg("heartbeat")
	}
	if !d.cfg.Frontend.Learning {
		if err := d.kernel.SetPolicy(nil); err != nil {
			d.log.Warn().Err(err).Msg("clear policy")
		}
	}
	update := time.NewTicker(d.interval())
	defer update.Stop()
	// The heartbeat timer restarts at every beat, updates' included: with heartbeats no more
	// often than updates the loop wakes up only to update.
	hb := time.NewTimer(d.heartbeatInterval())
	defer hb.Stop()
	for {
		select {
		case <-ctx.Done():
			d.save()
			info, err := d.kernel.Close()
			d.log.Info().Int64("kind", info.Kind).Int64("code", info.Code).Str("reason", info.Reason).
				Str("exit_message", info.Message).Msg("detached")
			if err != nil {
				return fmt.Errorf("detach: %w", err)
			}
			return nil
		case info := <-d.kernel.Exited():
			d.metrics.Ejections.Inc()
			d.save()
			d.log.Error().Int64("kind", info.Kind).Int64("code", info.Code).Str("reason", info.Reason).
				Str("exit_message", info.Message).Bool("restart", info.Restart()).Msg("scheduler ejected by the kernel")
			d.kernel.Close()
			return &EjectedError{Info: info}
		case <-intakeDone:
			intakeDone = nil // the kernel side stopped sending; Exited tells why
		case cfg := <-d.reload:
			if err := d.applyReload(cfg); err != nil {
				d.log.Error().Err(err).Msg("reload rejected; keeping the running configuration")
				continue
			}
			update.Reset(d.interval())
			hb.Reset(d.heartbeatInterval())
		case <-hb.C:
			if err := d.beat(); err != nil {
				d.metrics.PushErrors.Inc()
				d.log.Warn().Err(err).Msg("heartbeat")
			}
			hb.Reset(d.heartbeatInterval())
		case <-update.C:
			if d.step() {
				hb.Reset(d.heartbeatInterval())
			}
			if time.Since(d.saved) >= stateEvery {
				d.save()
			}
		}
	}
}

// stateEvery is how often the loop saves the state file (besides at exit).
const stateEvery = time.Minute

// restore feeds the learner the window the state file kept (frontend.state_file), its
// functions given ids by name. A file that cannot be used is reported and ignored.
func (d *Daemon) restore() {
	path := d.cfg.Frontend.StateFile
	if path == "" {
		return
	}
	d.saved = time.Now()
	recs, err := loadState(path, d.now(), time.Now(), d.cfg.Learner.WindowSpanMs*int64(time.Millisecond), d.cfg.Learner.WindowSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.log.Info().Str("state_file", path).Msg("no state file yet: learning from scratch")
		return
	case err != nil:
		d.log.Warn().Msg(err.Error() + "; learning from scratch")
		return
	}
	fns := map[string]bool{}
	for _, r := range recs {
		id, evicted := d.reg.ID(r.Function)
		if evicted != "" {
			d.forget(id)
		}
		r.Record.Function = id
		d.learner.Observe(r.Record)
		fns[r.Function] = true
	}
	d.seen = -1
	d.log.Info().Str("state_file", path).Int("records", len(recs)).Int("functions", len(fns)).Msg("window restored")
}

// save writes the learner's window to the state file, if there is one; a failure is logged.
func (d *Daemon) save() {
	path := d.cfg.Frontend.StateFile
	lr, ok := d.learner.(liveRecords)
	if path == "" || !ok {
		return
	}
	d.saved = time.Now()
	if err := saveState(path, lr.Live(nil), d.reg.Name, d.now(), time.Now()); err != nil {
		d.log.Warn().Msg(err.Error())
	}
}

func (d *Daemon) interval() time.Duration {
	return time.Duration(d.cfg.Learner.UpdateIntervalMs) * time.Millisecond
}

func (d *Daemon) heartbeatInterval() time.Duration {
	return time.Duration(d.cfg.Frontend.HeartbeatIntervalMs) * time.Millisecond
}

// intake drains the kernel's records as fast as they come into the pending buffer; when the
// buffer is full they are dropped and counted, never blocking the kernel side.
func (d *Daemon) intake(done chan<- struct{}) {
	defer close(done)
	for r := range d.kernel.Records() {
		d.reg.Touch(r.Function)
		d.mu.Lock()
		d.received++
		if len(d.pending) < d.cfg.Frontend.RecordBuffer {
			d.pending = append(d.pending, r)
		} else {
			d.dropped++
		}
		d.mu.Unlock()
	}
}

func (d *Daemon) beat() error {
	err := d.kernel.Heartbeat()
	if err == nil {
		d.lastBeat = time.Now()
	}
	d.metrics.HeartbeatAge.Set(time.Since(d.lastBeat).Seconds())
	return err
}

// step feeds the pending records to the learner, runs it, and pushes the table; it reports
// whether it wrote the heartbeat. When the learner's window did not change since the last
// update (no record came and none expired) the table would be the same: nothing is run or
// pushed.
func (d *Daemon) step() (beat bool) {
	cpu0 := processCPU()
	t0 := time.Now()
	d.mu.Lock()
	batch := d.pending
	d.pending = d.spare[:0]
	evictions := d.evictions
	d.evictions = nil
	dropped := d.dropped
	d.dropped = 0
	d.mu.Unlock()
	for i, r := range batch {
		for len(evictions) > 0 && evictions[0].at <= i {
			d.forget(evictions[0].id)
			evictions = evictions[1:]
		}
		d.learner.Observe(r)
	}
	for _, e := range evictions {
		d.forget(e.id)
	}
	d.spare = batch[:0]
	d.metrics.Records.Add(float64(len(batch)))
	d.metrics.RecordsPerSec.Set(float64(len(batch)) / d.interval().Seconds())
	if dropped > 0 {
		d.metrics.Dropped.WithLabelValues("frontend").Add(float64(dropped))
		d.log.Warn().Uint64("dropped", dropped).Msg("records arrived faster than the learner takes them: dropped")
	}
	d.metrics.kernelDropped(d.kernel.Dropped())
	d.metrics.Functions.Set(float64(d.reg.Len()))
	if !d.cfg.Frontend.Learning {
		return false
	}
	now := d.now()
	w, windowed := d.learner.(windowed)
	if windowed && d.seen == w.Window().Total() && !w.Window().Expiring(now) {
		d.skipped++
		return false
	}
	t := d.learner.Update(now)
	if err := d.kernel.SetPolicy(t); err != nil {
		d.metrics.PushErrors.Inc()
		d.log.Error().Err(err).Msg("push policy table")
		return false
	}
	if windowed {
		d.seen = w.Window().Total()
	}
	el := time.Since(t0) // learner and push; the heartbeat below is not the update's
	cpu := processCPU() - cpu0
	err := d.beat()
	if err != nil {
		d.log.Warn().Err(err).Msg("heartbeat")
	}
	d.table = t
	d.logClassKeys()
	d.updates++
	if d.updates == 1 {
		d.first = el
	}
	d.lat.add(el)
	d.latCPU.add(cpu)
	d.metrics.UpdateSeconds.Observe(el.Seconds())
	d.metrics.TableSize.Set(float64(t.Len()))
	d.metrics.TableVersion.Set(float64(t.Version))
	ev := d.log.Debug()
	if d.updates == 1 || d.log.GetLevel() <= zerolog.DebugLevel {
		ev = d.log.Info()
	}
	if ev.Enabled() {
		ev.Uint64("version", t.Version).Int("functions", t.Len()).Int("records", len(batch)).
			Dur("took", el).Str("top", d.Top(t, 5)).Msg("policy pushed")
	}
	return err == nil
}

// classFitter is implemented by learners that key functions by class hint (model.Learner).
type classFitter interface {
	ClassFits() []model.ClassFit
}

// logClassKeys says when a function starts or stops being learned per class hint, with the
// prediction errors that decided it.
func (d *Daemon) logClassKeys() {
	cf, ok := d.learner.(classFitter)
	if !ok {
		return
	}
	fits := cf.ClassFits()
	now := map[uint32]bool{}
	for _, f := range fits {
		if f.Keyed {
			now[f.Function] = true
		}
		if f.Keyed != d.perClass[f.Function] {
			msg := "function learned per class hint"
			if !f.Keyed {
				msg = "function learned as a whole again"
			}
			d.log.Info().Str("function", d.reg.Name(f.Function)).Int("classes", f.Classes).Float64("class_error", f.ClassErr).
				Float64("function_error", f.FnErr).Int("tested", f.Tested).Msg(msg)
		}
	}
	for fn := range d.perClass {
		if !now[fn] {
			if _, still := slices.BinarySearchFunc(fits, fn, func(f model.ClassFit, t uint32) int { return cmp.Compare(f.Function, t) }); !still {
				d.log.Info().Str("function", d.reg.Name(fn)).Msg("function learned as a whole again (no hints in the window)")
			}
		}
	}
	d.perClass = now
}

// forget makes the learner drop function id's records (its id was reused).
func (d *Daemon) forget(id uint32) {
	if f, ok := d.learner.(Forgetter); ok {
		f.Forget(id)
	}
	d.seen = -1 // the window's contents changed
}

// Top describes the n first-ranked functions of t as "name:rank/slice".
func (d *Daemon) Top(t *policy.Table, n int) string {
	return TopEntries(t, d.reg.Name, n)
}

// TopEntries describes the n first-ranked functions of t, named by name.
func TopEntries(t *policy.Table, name func(uint32) string, n int) string {
	rows := Rank(t, name)
	if len(rows) > n {
		rows = rows[:n]
	}
	s := ""
	for i, r := range rows {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%s:%d/%.1fms", r.Name, r.Rank, float64(r.Slice)/1e6)
	}
	return s
}

// Row is one function of a policy table, for display.
type Row struct {
	ID     uint32
	Name   string
	Rank   uint32
	Slice  int64
	Demand int64
}

// Rank returns the entries of t, first-ranked first (ties by id).
func Rank(t *policy.Table, name func(uint32) string) []Row {
	if t == nil {
		return nil
	}
	rows := make([]Row, 0, len(t.Entries))
	for id, e := range t.Entries {
		n := name(id)
		if n == "" {
			n = fmt.Sprintf("#%d", id)
		}
		rows = append(rows, Row{ID: id, Name: n, Rank: e.Rank, Slice: e.Slice, Demand: e.Demand})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Rank != rows[j].Rank {
			return rows[i].Rank < rows[j].Rank
		}
		return rows[i].ID < rows[j].ID
	})
	return rows
}

// windowed is implemented by learners that expose their window (model.Learner), so that an
// update is skipped when it has not changed.
type windowed interface {
	Window() *model.Window
}

// liveRecords is implemented by learners that can list the records that count
// (model.Learner), so a reload keeps what was learned.
type liveRecords interface {
	Live(dst []policy.Record) []policy.Record
}

func (d *Daemon) applyReload(cfg configs.Config) error {
	l, err := d.opts.NewLearner(cfg)
	if err != nil {
		return err
	}
	if old, ok := d.learner.(liveRecords); ok {
		for _, r := range old.Live(nil) {
			l.Observe(r)
		}
	}
	wasLearning, interval := d.cfg.Frontend.Learning, d.interval()
	d.learner = l
	d.seen = -1 // new parameters: the next update runs whatever the window
	// Classification rules and the record buffer need a restart; learner, policy and the
	// learning switch apply now.
	keep := d.cfg.Frontend
	d.cfg = cfg
	d.cfg.Frontend.CgroupPatterns, d.cfg.Frontend.ProcessNames, d.cfg.Frontend.CgroupRoot = keep.CgroupPatterns, keep.ProcessNames, keep.CgroupRoot
	d.cfg.Frontend.RecordBuffer, d.cfg.Frontend.MetricsAddr, d.cfg.Frontend.PinPath = keep.RecordBuffer, keep.MetricsAddr, keep.PinPath
	if ls, ok := d.kernel.(RecordLatencySetter); ok && d.interval() != interval {
		ls.SetRecordLatency(d.interval())
	}
	if wasLearning && !cfg.Frontend.Learning {
		if err := d.kernel.SetPolicy(nil); err != nil {
			return fmt.Errorf("clear policy: %w", err)
		}
	}
	d.log.Info().Str("predictor", cfg.Learner.Predictor).Int64("update_interval_ms", cfg.Learner.UpdateIntervalMs).
		Bool("learning", cfg.Frontend.Learning).Msg("configuration reloaded")
	return nil
}

// Stats summarises a run of the daemon.
type Stats struct {
	Updates    uint64  `json:"updates"`
	Skipped    uint64  `json:"skipped_updates"` // the window had not changed: nothing to learn
	Records    uint64  `json:"records"`
	Dropped    uint64  `json:"dropped"`
	CPUPercent float64 `json:"cpu_percent"` // CPU of the whole process, % of one CPU
	// UpdateP50Ms, UpdateP99Ms and UpdateMaxMs are quantiles of the update latency (learner and
	// push) over every update, the first included.
	UpdateP50Ms float64 `json:"update_p50_ms"`
	UpdateP99Ms float64 `json:"update_p99_ms"`
	UpdateMaxMs float64 `json:"update_max_ms"`
	// UpdateFirstMs is the first update's latency (the learner's code was warmed up before it,
	// see warmUp; the push's was not).
	UpdateFirstMs float64 `json:"update_first_ms"`
	// UpdateCPU* are quantiles of the CPU time the process used during an update: what an
	// update costs, without the time it waited for a CPU.
	UpdateCPUP50Ms  float64   `json:"update_cpu_p50_ms"`
	UpdateCPUP99Ms  float64   `json:"update_cpu_p99_ms"`
	UpdateSlowestMs []float64 `json:"update_slowest_ms"` // the slowest updates' latencies, slowest first
	WallSeconds     float64   `json:"wall_seconds"`
	Functions       int       `json:"functions"`
}

// Stats returns the daemon's figures so far. Call it after Run returned.
func (d *Daemon) Stats() Stats {
	wall := time.Since(d.started)
	cpu := processCPU() - d.cpu0
	d.mu.Lock()
	recv := d.received
	d.mu.Unlock()
	s := Stats{Updates: d.updates, Skipped: d.skipped, UpdateFirstMs: float64(d.first) / 1e6, Records: recv, Dropped: d.kernel.Dropped() + uint64(d.droppedTotal()),
		WallSeconds: wall.Seconds(), Functions: d.reg.Len()}
	if wall > 0 {
		s.CPUPercent = 100 * cpu.Seconds() / wall.Seconds()
	}
	s.UpdateP50Ms, s.UpdateP99Ms, s.UpdateMaxMs = d.lat.quantile(0.5), d.lat.quantile(0.99), d.lat.quantile(1)
	s.UpdateCPUP50Ms, s.UpdateCPUP99Ms = d.latCPU.quantile(0.5), d.latCPU.quantile(0.99)
	s.UpdateSlowestMs = d.lat.top(5)
	return s
}

// warmUp runs a throwaway learner of the daemon's configuration once over a small synthetic
// window before the loop starts, so that the first real update does not pay for the first run
// of the learner's code (page faults, lazily built runtime structures and, under emulation as
// in the experiment's VM, the translation of the code): measured under qemu TCG the first
// update took 6-53 ms against about 1 ms for the next ones. Then it collects the garbage of
// start-up (loading the backend parses the kernel's BTF: about 10 MB), whose collection
// otherwise lands in the first update (seen with gctrace in the VM: a 13 ms cycle in a 50 ms
// first update, and none in the minute after). Its CPU counts in the process's.
func (d *Daemon) warmUp() {
	defer runtime.GC()
	l, err := d.opts.NewLearner(d.cfg)
	if err != nil {
		return // New built one with the same configuration: cannot happen
	}
	const fns, n = 8, 256
	now := d.now()
	ms := int64(time.Millisecond)
	for i := range n {
		cpu := int64(1+i%fns) * ms
		start := now - int64(n-i)*10*ms
		l.Observe(policy.Record{Function: uint32(i % fns), Start: start, End: start + 2*cpu, CPU: cpu,
			RunDelay: cpu / 2, Nvcsw: uint64(i % 3)})
	}
	l.Update(now)
}

func (d *Daemon) droppedTotal() float64 {
	// the frontend's drops live in the metric once an update has taken them
	var m = d.metrics.Dropped.WithLabelValues("frontend")
	return counterValue(m)
}

func processCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// latencies keeps the last n update latencies.
type latencies struct {
	buf  []time.Duration
	next int
	full bool
}

func newLatencies(n int) latencies { return latencies{buf: make([]time.Duration, n)} }

func (l *latencies) add(d time.Duration) {
	l.buf[l.next] = d
	l.next++
	if l.next == len(l.buf) {
		l.next, l.full = 0, true
	}
}

// top returns the n largest latencies in milliseconds, largest first.
func (l *latencies) top(n int) []float64 {
	s := l.sorted()
	out := make([]float64, 0, n)
	for i := len(s) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, float64(s[i])/1e6)
	}
	return out
}

func (l *latencies) sorted() []time.Duration {
	n := l.next
	if l.full {
		n = len(l.buf)
	}
	s := append([]time.Duration(nil), l.buf[:n]...)
	slices.Sort(s)
	return s
}

// quantile returns the q-quantile in milliseconds (nearest rank), 0 when empty.
func (l *latencies) quantile(q float64) float64 {
	s := l.sorted()
	n := len(s)
	if n == 0 {
		return 0
	}
	i := int(q*float64(n)+0.999999) - 1
	i = max(0, min(i, n-1))
	return float64(s[i]) / 1e6
}
