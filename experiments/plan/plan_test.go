package plan

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alps-sched/alps/sim"
)

func defaults() Options {
	return Options{Span: 40 * time.Second, Functions: DefaultFunctions, Cores: 1, Load: 0.7,
		MinDemand: 3 * time.Millisecond, MaxDemand: 3 * time.Second, Decades: DefaultDecades,
		HeavyFraction: DefaultHeavyFraction, IOShare: DefaultIOShare, Seed: 1}
}

// TestGenerate checks what the experiment states about its trace, over several seeds: every
// function invoked at least twice, the offered load exact, demands within bounds and spread
// over the decades asked for, the I/O share near its target, the heavy-tailed functions'
// demands more spread than the others'.
func TestGenerate(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		o := defaults()
		o.Seed = seed
		tr, err := Generate(o)
		if err != nil {
			t.Fatal(err)
		}
		s := Summarize(tr, o.Cores)
		if s.Functions != o.Functions {
			t.Errorf("seed %d: %d functions invoked, want %d", seed, s.Functions, o.Functions)
		}
		count := make([]int, o.Functions)
		byFunc := make([][]float64, o.Functions)
		for _, in := range tr.Inv {
			count[in.Func]++
			byFunc[in.Func] = append(byFunc[in.Func], float64(in.CPU)/1e6)
			if d := time.Duration(in.CPU); d < o.MinDemand-time.Microsecond || d > o.MaxDemand {
				t.Fatalf("seed %d: demand %v outside [%v, %v]", seed, d, o.MinDemand, o.MaxDemand)
			}
		}
		if slices.Min(count) < 2 {
			t.Errorf("seed %d: a function has %d invocations, want >= 2", seed, slices.Min(count))
		}
		if math.Abs(s.OfferedLoad-o.Load) > 1e-6 {
			t.Errorf("seed %d: offered load %.6f, want %.2f", seed, s.OfferedLoad, o.Load)
		}
		if math.Abs(s.SpanS-o.Span.Seconds()) > 0.1*o.Span.Seconds() {
			t.Errorf("seed %d: span %.1fs, want about %v", seed, s.SpanS, o.Span)
		}
		if math.Abs(s.IOShare-o.IOShare) > 0.1 {
			t.Errorf("seed %d: I/O share %.2f, want %.2f +- 0.1", seed, s.IOShare, o.IOShare)
		}
		// Function medians cover the decades: the largest is at least 10^(decades - 0.5)
		// times the smallest.
		var medians []float64
		for _, ds := range byFunc {
			slices.Sort(ds)
			medians = append(medians, ds[len(ds)/2])
		}
		if r := slices.Max(medians) / slices.Min(medians); r < math.Pow(10, o.Decades-0.5) {
			t.Errorf("seed %d: function medians span %.0fx, want >= 10^%.1f", seed, r, o.Decades-0.5)
		}
		if s.DemandMaxMs/s.DemandMinMs < 100 {
			t.Errorf("seed %d: demands span %.1f-%.1f ms, under two decades", seed, s.DemandMinMs, s.DemandMaxMs)
		}
	}
}

// TestHeavyTail: with every function heavy-tailed the demands' spread within a function is
// far wider than with none (Pareto of shape 1.3 against a log-normal of sigma 0.3).
func TestHeavyTail(t *testing.T) {
	spread := func(heavy float64) float64 {
		o := defaults()
		o.HeavyFraction, o.Decades, o.Functions, o.Span, o.Invocations = heavy, 0, 1, 0, 400
		o.MinDemand, o.MaxDemand = time.Millisecond, time.Hour
		tr, err := Generate(o)
		if err != nil {
			t.Fatal(err)
		}
		var ds []float64
		for _, in := range tr.Inv {
			ds = append(ds, float64(in.CPU))
		}
		slices.Sort(ds)
		return ds[len(ds)*99/100] / ds[len(ds)/2]
	}
	light, heavy := spread(0), spread(1)
	if light > 3 || heavy < 10 {
		t.Errorf("p99/median: %.1f light, %.1f heavy; want <= 3 and >= 10", light, heavy)
	}
}

func TestGenerateCountAndSeed(t *testing.T) {
	o := defaults()
	o.Span, o.Invocations = 0, 200
	a, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Inv) != 200 || math.Abs(a.Utilization(1)-o.Load) > 1e-6 {
		t.Errorf("%d invocations at load %.3f, want 200 at %.2f", len(a.Inv), a.Utilization(1), o.Load)
	}
	b, _ := Generate(o)
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed gave two plans")
	}
	o.Seed = 2
	if c, _ := Generate(o); reflect.DeepEqual(a, c) {
		t.Error("seeds 1 and 2 gave the same plan")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"no functions", func(o *Options) { o.Functions = 0 }, "functions"},
		{"too few invocations", func(o *Options) { o.Invocations = 10 }, "invocations: must be >= 2 per function (96)"},
		{"neither count nor span", func(o *Options) { o.Span = 0 }, "invocations or span"},
		{"no cores", func(o *Options) { o.Cores = 0 }, "cores"},
		{"load", func(o *Options) { o.Load = 2.5 }, "load"},
		{"demands", func(o *Options) { o.MaxDemand = time.Millisecond }, "min demand"},
		{"decades", func(o *Options) { o.Decades = -1 }, "decades"},
		{"heavy", func(o *Options) { o.HeavyFraction = 1.5 }, "heavy"},
		{"io", func(o *Options) { o.IOShare = -0.1 }, "I/O share"},
	}
	for _, tt := range tests {
		o := defaults()
		tt.edit(&o)
		if _, err := Generate(o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error naming %q", tt.name, err, tt.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	tr := &sim.Trace{Functions: []string{"a", "b", "c"}, Inv: []sim.Invocation{
		{Arrival: 0, CPU: 10e6, Func: 0}, {Arrival: 1e9, CPU: 30e6, Func: 0, Waits: 1, IO: 5e6}, {Arrival: 2e9, CPU: 20e6, Func: 2}}}
	s := Summarize(tr, 1)
	want := Summary{Invocations: 3, Functions: 2, OfferedLoad: 0.03, SpanS: 2, DemandMinMs: 10, DemandP10Ms: 10, DemandP50Ms: 20,
		DemandP90Ms: 30, DemandMaxMs: 30, IOShare: 1.0 / 3}
	if math.Abs(s.OfferedLoad-want.OfferedLoad) > 1e-12 || math.Abs(s.IOShare-want.IOShare) > 1e-12 {
		t.Errorf("Summarize = %+v, want %+v", s, want)
	}
	s.OfferedLoad, s.IOShare = want.OfferedLoad, want.IOShare
	if s != want {
		t.Errorf("Summarize = %+v, want %+v", s, want)
	}
	if !strings.Contains(s.String(), "3 invocations of 2 functions over 2.0s, offered load 0.03") {
		t.Errorf("String = %q", s.String())
	}
}
