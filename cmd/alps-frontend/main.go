// Command alps-frontend is the alps daemon of a FaaS node: it loads and attaches the sched_ext
// backend, learns each function's rank and slice from the invocations the kernel reports, and
// pushes them to the kernel every update interval.
//
//	alps-frontend [--config FILE] [--dry-run [--records FILE]] [--stats-file FILE]
//	alps-frontend status [--top N] [--json]
//
// --dry-run learns and logs its decisions without loading the scheduler: from a recorded
// invocations file, or live from tracepoints (backend/tracer, no sched_ext needed).
// "status" reads the maps a running daemon pinned under frontend.pin_path.
//
// SIGHUP, or a change of the config file, reloads the learner parameters without detaching;
// SIGINT or SIGTERM detaches and exits. If the kernel ejects the scheduler the exit info is
// logged and the exit code is non-zero, unless the scheduler asked to be restarted.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/alps-sched/alps/cmd/internal/cli"
	"github.com/alps-sched/alps/cmd/internal/outfile"
	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/experiments/loadgen"
	"github.com/alps-sched/alps/frontend"
	"github.com/alps-sched/alps/model"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app, err := newApp(kernelStatus())
	if err != nil {
		fmt.Fprintf(os.Stderr, "alps-frontend: %v\n", err)
		os.Exit(cli.ExitFailure)
	}
	os.Exit(app.Execute(ctx, os.Args[1:]))
}

type flags struct {
	dryRun    bool
	records   string
	statsFile string
	status    statusOptions
}

// newApp builds the command line; status reads the pinned maps through env.
func newApp(env statusEnv) (*cli.App, error) {
	app, err := cli.New("alps-frontend", "The alps daemon: learns per-function rank and slice and pushes them to the sched_ext backend")
	if err != nil {
		return nil, err
	}
	var f flags
	root := app.Root()
	root.Args = cobra.NoArgs
	fl := root.Flags()
	fl.BoolVar(&f.dryRun, "dry-run", false, "learn and log decisions without attaching the scheduler (works without sched_ext: live records from tracepoints, or --records)")
	fl.StringVar(&f.records, "records", "", "with --dry-run: learn from this recorded-invocations file (load generator results CSV)")
	fl.StringVar(&f.statsFile, "stats-file", "", "write the run's figures (CPU %, update latency) as JSON here at exit")
	fl.String("metrics-addr", "", "Prometheus metrics address (overrides frontend.metrics_addr)")
	fl.Bool("learning", true, "push learned ranks (false: plain fair vtime; overrides frontend.learning)")
	if err := app.BindFlag(root, "metrics-addr", "frontend.metrics_addr"); err != nil {
		return nil, err
	}
	if err := app.BindFlag(root, "learning", "frontend.learning"); err != nil {
		return nil, err
	}
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := simOnly(app.Config(), app.Refuse); err != nil {
			return err
		}
		if f.records != "" && !f.dryRun {
			return cli.Usagef("--records needs --dry-run")
		}
		if f.dryRun && f.records != "" {
			return replay(app, f)
		}
		return serve(cmd.Context(), app, cmd, f)
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "Show the pinned policy: top functions with rank and slice, and the heartbeat age",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.status.top < 0 {
				return cli.Usagef("--top %d: must be >= 0 (0 shows all)", f.status.top)
			}
			return showStatus(app.Stdout(), app.Config(), env, f.status)
		},
	}
	status.Flags().IntVar(&f.status.top, "top", 20, "functions to show, first-ranked first (0: all)")
	status.Flags().BoolVar(&f.status.json, "json", false, "print the status as JSON")
	root.AddCommand(status)
	return app, nil
}

func newLearner(c configs.Config) (frontend.Learner, error) {
	l, err := model.NewLearner(configs.LearnerConfig(c))
	if err != nil {
		return nil, err
	}
	return l, nil
}

// replay is the dry run over a records file.
func replay(app *cli.App, f flags) error {
	cfg := app.Config()
	recs, err := readRecords(f.records)
	if err != nil {
		return err
	}
	l, err := newLearner(cfg)
	if err != nil {
		return err
	}
	reg := frontend.NewRegistry(cfg.Learner.MaxFunctions)
	res, err := frontend.Replay(recs, l, reg, time.Duration(cfg.Learner.UpdateIntervalMs)*time.Millisecond, *app.Log())
	if errors.Is(err, frontend.ErrNoCompleted) {
		return fmt.Errorf("%s: %w", f.records, err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(app.Stdout(), "dry run over %d recorded invocations, %d updates; final policy (version %d):\n",
		len(recs), res.Updates, res.Table.Version)
	frontend.WriteTable(app.Stdout(), res.Table, reg.Name, 0)
	return nil
}

// readRecords reads recorded invocations: a results file of the load generator
// (alps-bench loadgen), whose format experiments/loadgen owns.
func readRecords(path string) ([]frontend.Invocation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	defer f.Close()
	rs, err := loadgen.ReadResults(f, path)
	if err != nil {
		return nil, err
	}
	recs := make([]frontend.Invocation, len(rs))
	for i, r := range rs {
		recs[i] = frontend.Invocation{Function: r.Function, Start: r.Start, End: r.End, CPU: r.CPU, Lost: r.Lost}
	}
	return recs, nil
}

// serve runs the daemon until a signal or an ejection. When the scheduler exits asking to be
// restarted, the backend is loaded again, as the scx schedulers do.
func serve(ctx context.Context, app *cli.App, cmd *cobra.Command, f flags) error {
	cfg := app.Config()
	log := *app.Log()
	metrics := frontend.NewMetrics()
	if addr := cfg.Frontend.MetricsAddr; addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("frontend.metrics_addr: %w", err)
		}
		srv := &http.Server{Handler: promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		log.Info().Str("addr", ln.Addr().String()).Msg("metrics")
		if cfg.Frontend.MetricsAllowRemote {
			log.Warn().Str("addr", ln.Addr().String()).Msg("metrics served beyond this host (frontend.metrics_allow_remote), without authentication")
		}
	}
	var current atomic.Pointer[frontend.Daemon]
	configFile, _ := cmd.Flags().GetString("config")
	go watchReload(ctx, &current, configFile, cmd, log)
	for {
		var k frontend.Kernel
		if f.dryRun {
			if tk, err := openTracer(cfg, log); err == nil {
				k = tk
				log.Info().Msg("dry run: invocation records from tracepoints; the scheduler is not loaded, decisions are only logged")
			} else {
				k = frontend.NewLogKernel(log)
				log.Warn().Err(err).Msg("dry run without live records (the tracer could not be loaded); the scheduler is not loaded, decisions are only logged")
			}
		} else {
			var err error
			if k, err = openBackend(cfg, log); err != nil {
				return err
			}
		}
		d, err := frontend.New(frontend.Options{Config: cfg, Kernel: k, NewLearner: newLearner, Log: log, Metrics: metrics})
		if err != nil {
			k.Close()
			return err
		}
		current.Store(d)
		err = d.Run(ctx)
		st := d.Stats()
		if f.statsFile != "" {
			if werr := writeStats(f.statsFile, st); werr != nil {
				log.Error().Err(werr).Msg("stats file")
			}
		}
		log.Info().Float64("cpu_percent", st.CPUPercent).Float64("update_p99_ms", st.UpdateP99Ms).
			Uint64("updates", st.Updates).Uint64("records", st.Records).Uint64("dropped", st.Dropped).Msg("stopped")
		if errors.Is(err, frontend.ErrRestart) && ctx.Err() == nil {
			log.Warn().Err(err).Msg("the scheduler asked to be restarted: loading it again")
			time.Sleep(time.Second)
			continue
		}
		return err
	}
}

func writeStats(path string, s frontend.Stats) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := outfile.WriteBytes(path, 0o644, append(data, '\n')); err != nil {
		return fmt.Errorf("--stats-file %s: %w", path, err)
	}
	return nil
}

// watchReload reloads the configuration on SIGHUP and when the config file changes.
func watchReload(ctx context.Context, current *atomic.Pointer[frontend.Daemon], file string, cmd *cobra.Command, log zerolog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var changes <-chan fsnotify.Event
	if file != "" {
		if w, err := fsnotify.NewWatcher(); err == nil {
			defer w.Close()
			// Watch the directory: editors replace files by renaming.
			if err := w.Add(filepath.Dir(file)); err == nil {
				changes = w.Events
			}
		}
	}
	reload := func(why string) {
		cfg, err := loadConfig(file, cmd)
		if err != nil {
			log.Error().Err(err).Str("trigger", why).Msg("reload: keeping the running configuration")
			return
		}
		d := current.Load()
		if d == nil {
			return
		}
		if err := d.Reload(cfg); err != nil {
			log.Error().Err(err).Str("trigger", why).Msg("reload rejected")
		}
	}
	abs, _ := filepath.Abs(file)
	var debounce <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			reload("SIGHUP")
		case ev := <-changes:
			if p, _ := filepath.Abs(ev.Name); p == abs && ev.Has(fsnotify.Write|fsnotify.Create) {
				debounce = time.After(200 * time.Millisecond)
			}
		case <-debounce:
			reload("config file changed")
		}
	}
}

// loadConfig reads the configuration again: defaults, the file, the environment, and the
// flags given on the command line.
func loadConfig(file string, cmd *cobra.Command) (configs.Config, error) {
	l, err := configs.NewLoader()
	if err != nil {
		return configs.Config{}, err
	}
	if file != "" {
		if err := l.ReadFile(file); err != nil {
			return configs.Config{}, err
		}
	}
	for flag, key := range map[string]string{"metrics-addr": "frontend.metrics_addr", "learning": "frontend.learning", "log-level": "log.level"} {
		if fl := cmd.Flags().Lookup(flag); fl != nil && fl.Changed {
			if err := l.BindFlag(key, fl); err != nil {
				return configs.Config{}, err
			}
		}
	}
	c, err := l.Load()
	if err == nil {
		err = simOnly(c, l.Refuse)
	}
	return c, err
}

// simOnly refuses the configuration keys only the simulator implements.
func simOnly(c configs.Config, refuse func(key, why string) error) error {
	if c.Learner.Censored {
		return refuse("learner.censored", "the backend does not report running invocations yet (alps-sim does): set it false")
	}
	return nil
}
