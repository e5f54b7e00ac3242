// Package cli is the command-line plumbing shared by the alps binaries: a cobra root command
// with --config and --log-level, the configuration loaded through configs (defaults < file <
// ALPS_* environment < flags), a zerolog logger (console when stderr is a terminal, JSON
// otherwise), and the mapping of errors to one line on stderr and an exit code.
//
// A binary builds an App, adds its subcommands to Root, binds the flags that override config
// keys with BindFlag, and calls os.Exit(app.Execute(ctx, os.Args[1:])). Inside a command, Config
// and Log return the loaded configuration and logger.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/alps-sched/alps/configs"
)

// Exit codes returned by Execute.
const (
	ExitOK       = 0
	ExitFailure  = 1  // the command failed (bad input, I/O error, ...)
	ExitUsage    = 2  // bad flags or arguments
	ExitInternal = 70 // a bug: a recovered panic
)

// App is one command-line program.
type App struct {
	name       string
	root       *cobra.Command
	loader     *configs.Loader
	configFile string
	cfg        configs.Config
	loaded     bool
	log        zerolog.Logger
	stderr     io.Writer
	stdout     io.Writer
}

// New returns an App whose root command is called name. The root command has the persistent
// flags --config FILE and --log-level LEVEL (bound to the config key log.level).
func New(name, short string) (*App, error) {
	loader, err := configs.NewLoader()
	if err != nil {
		return nil, err
	}
	a := &App{name: name, loader: loader, stderr: os.Stderr, stdout: os.Stdout, log: zerolog.Nop()}
	root := &cobra.Command{
		Use:           name,
		Short:         short,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.load()
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return UsageError(err) })
	pf := root.PersistentFlags()
	pf.StringVar(&a.configFile, "config", "", "YAML config file (keys as in configs/alps.yaml)")
	pf.String("log-level", "info", "minimum log level: trace, debug, info, warn or error")
	if err := loader.BindFlag("log.level", pf.Lookup("log-level")); err != nil {
		return nil, err
	}
	a.root = root
	return a, nil
}

// Root returns the root command, to add subcommands and flags to.
func (a *App) Root() *cobra.Command { return a.root }

// SetOutput redirects stdout and stderr (tests).
func (a *App) SetOutput(stdout, stderr io.Writer) {
	a.stdout, a.stderr = stdout, stderr
	a.root.SetOut(stdout)
	a.root.SetErr(stderr)
}

// Stdout is where commands write their results.
func (a *App) Stdout() io.Writer { return a.stdout }

// Stderr is where logs, progress and errors go.
func (a *App) Stderr() io.Writer { return a.stderr }

// BindFlag makes the flag name of cmd, when given, override the config key.
func (a *App) BindFlag(cmd *cobra.Command, name, key string) error {
	f := cmd.Flags().Lookup(name)
	if f == nil {
		return fmt.Errorf("cli: command %s has no flag --%s", cmd.Name(), name)
	}
	return a.loader.BindFlag(key, f)
}

// Config returns the configuration loaded before the command ran.
func (a *App) Config() configs.Config { return a.cfg }

// Refuse is the error for a valid value of key that the command cannot use, naming where the
// value came from (flag, environment, file and line).
func (a *App) Refuse(key, why string) error { return a.loader.Refuse(key, why) }

// Log returns the logger configured from log.level.
func (a *App) Log() *zerolog.Logger { return &a.log }

func (a *App) load() error {
	if a.loaded {
		return nil
	}
	if a.configFile != "" {
		if err := a.loader.ReadFile(a.configFile); err != nil {
			return err
		}
	}
	cfg, err := a.loader.Load()
	if err != nil {
		return err
	}
	lvl, err := zerolog.ParseLevel(cfg.Log.Level)
	if err != nil {
		return fmt.Errorf("log.level: %w", err)
	}
	a.cfg, a.loaded = cfg, true
	a.log = NewLogger(a.stderr, lvl).With().Str("cmd", a.name).Logger()
	return nil
}

// NewLogger returns a zerolog logger writing to w: human-readable console output when w is a
// terminal, one JSON object per line otherwise.
func NewLogger(w io.Writer, level zerolog.Level) zerolog.Logger {
	out := w
	if IsTerminal(w) {
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(out).Level(level).With().Timestamp().Logger()
}

// IsTerminal reports whether w is a terminal (progress bars and console logs use it).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Execute runs the command line args and returns the process exit code. An error is printed
// as one line "name: message" on stderr; a panic is recovered and reported the same way.
func (a *App) Execute(ctx context.Context, args []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			a.log.Debug().Str("stack", string(debug.Stack())).Msg("panic")
			fmt.Fprintf(a.stderr, "%s: internal error: %v\n", a.name, r)
			code = ExitInternal
		}
	}()
	a.root.SetArgs(args)
	a.root.SetOut(a.stdout)
	a.root.SetErr(a.stderr)
	err := a.root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(a.stderr, "%s: %s\n", a.name, oneLine(err))
	return ExitCode(err)
}

// ExitCode maps an error to an exit code: ExitUsage for usage errors (and cobra's unknown
// command / flag errors), the code of an error implementing ExitCode() int, else ExitFailure.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ce interface{ ExitCode() int }
	if errors.As(err, &ce) {
		return ce.ExitCode()
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") ||
		strings.HasPrefix(msg, "unknown shorthand flag") || strings.Contains(msg, "arg(s)") {
		return ExitUsage
	}
	return ExitFailure
}

type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }
func (e usageError) ExitCode() int { return ExitUsage }

// UsageError marks err as a usage error (exit code ExitUsage).
func UsageError(err error) error {
	if err == nil {
		return nil
	}
	return usageError{err}
}

// Usagef returns a formatted usage error.
func Usagef(format string, args ...any) error { return UsageError(fmt.Errorf(format, args...)) }

// oneLine flattens a multi-line error message.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
