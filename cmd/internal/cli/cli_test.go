package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func newTestApp(t *testing.T) (*App, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	a, err := New("tool", "a test tool")
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	a.SetOutput(&out, &errb)
	a.Root().AddCommand(
		&cobra.Command{Use: "ok", RunE: func(cmd *cobra.Command, _ []string) error {
			a.Log().Info().Msg("hello")
			_, err := a.Stdout().Write([]byte(a.Config().Log.Level + "\n"))
			return err
		}},
		&cobra.Command{Use: "fail", RunE: func(*cobra.Command, []string) error {
			return errors.New("trace x.csv:3:2: bad\nsecond line")
		}},
		&cobra.Command{Use: "usage", RunE: func(*cobra.Command, []string) error { return Usagef("--cores: must be > 0") }},
		&cobra.Command{Use: "boom", RunE: func(*cobra.Command, []string) error { panic("kaboom") }},
	)
	return a, &out, &errb
}

func TestExecute(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("policy:\n  rank_stepp_ms: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("log:\n  level: warn\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		code    int
		stdout  string
		errLine string // substring of the single stderr line
	}{
		{"ok", []string{"ok"}, ExitOK, "info\n", ""},
		{"config file", []string{"ok", "--config", good}, ExitOK, "warn\n", ""},
		{"flag wins", []string{"ok", "--config", good, "--log-level", "debug"}, ExitOK, "debug\n", ""},
		{"bad level", []string{"ok", "--log-level", "loud"}, ExitFailure, "", "log.level"},
		{"unknown key", []string{"ok", "--config", bad}, ExitFailure, "", `bad.yaml:2: unknown key "policy.rank_stepp_ms"`},
		{"missing config", []string{"ok", "--config", filepath.Join(dir, "nope.yaml")}, ExitFailure, "", "nope.yaml"},
		{"failure", []string{"fail"}, ExitFailure, "", "tool: trace x.csv:3:2: bad; second line"},
		{"usage", []string{"usage"}, ExitUsage, "", "--cores: must be > 0"},
		{"unknown flag", []string{"ok", "--nope"}, ExitUsage, "", "unknown flag: --nope"},
		{"unknown command", []string{"nope"}, ExitUsage, "", "unknown command"},
		{"panic", []string{"boom"}, ExitInternal, "", "internal error: kaboom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, out, errb := newTestApp(t)
			code := a.Execute(context.Background(), tt.args)
			if code != tt.code {
				t.Fatalf("exit code %d, want %d (stderr %q)", code, tt.code, errb.String())
			}
			if tt.stdout != "" && out.String() != tt.stdout {
				t.Errorf("stdout %q, want %q", out.String(), tt.stdout)
			}
			if tt.errLine == "" {
				// Only JSON log lines may appear on stderr.
				for _, l := range strings.Split(strings.TrimSpace(errb.String()), "\n") {
					if l != "" && !strings.HasPrefix(l, "{") {
						t.Errorf("unexpected stderr line %q", l)
					}
				}
				return
			}
			s := errb.String()
			if strings.Count(s, "\n") != 1 || !strings.HasPrefix(s, "tool: ") {
				t.Fatalf("stderr is not one line %q", s)
			}
			if !strings.Contains(s, tt.errLine) {
				t.Errorf("stderr %q does not contain %q", s, tt.errLine)
			}
		})
	}
}
