package trace

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/alps-sched/alps/sim"
)

// azure returns the default Azure arrival options over o.
func azure(o GenOptions) GenOptions {
	o.Arrivals, o.Burstiness, o.Batch = ArrivalsAzure, DefaultBurstiness, DefaultBatch
	return o
}

func TestGenerateLoad(t *testing.T) {
	// The span is set from the drawn demands. Poisson arrivals are uniform over it, so the
	// measured load (first to last arrival) is the requested one up to the two end gaps:
	// with 200,000 arrivals each is ~1/200,000 of the span, so 0.5% is a wide tolerance.
	// Azure arrivals pin the span's ends, so their measured load is exact.
	cases := []struct {
		name string
		o    GenOptions
		tol  float64 // relative
	}{
		{"poisson/200k", GenOptions{Functions: 500, Invocations: 200_000, Cores: 16, Load: 0.85, IOFraction: 0.2}, 0.005},
		{"azure/200k", azure(GenOptions{Functions: 500, Invocations: 200_000, Cores: 16, Load: 0.85, IOFraction: 0.2}), 1e-6},
		{"azure/10min", azure(GenOptions{Functions: 200, Minutes: 10, Cores: 16, Load: 0.85}), 1e-6},
		{"azure/steady/4cores", GenOptions{Functions: 50, Minutes: 3, Cores: 4, Load: 1.2, Arrivals: ArrivalsAzure, Batch: 1}, 1e-6},
		{"azure/bursty/2min", GenOptions{Functions: 50, Minutes: 2, Cores: 8, Load: 0.5, Arrivals: ArrivalsAzure, Burstiness: 5, Batch: 100}, 1e-6},
	}
	for _, c := range cases {
		for seed := uint64(1); seed <= 3; seed++ {
			o := c.o
			o.Seed = seed
			tr, err := Generate(o)
			if err != nil {
				t.Fatalf("%s seed %d: %v", c.name, seed, err)
			}
			if err := tr.Validate(); err != nil {
				t.Fatalf("%s seed %d: %v", c.name, seed, err)
			}
			u := tr.Utilization(o.Cores)
			if math.Abs(u-o.Load)/o.Load > c.tol {
				t.Errorf("%s seed %d: utilization %.6f, want %g within %g", c.name, seed, u, o.Load, c.tol)
			}
			if tr.Inv[0].Arrival < 0 {
				t.Errorf("%s seed %d: arrival %d before 0", c.name, seed, tr.Inv[0].Arrival)
			}
		}
	}
}

func TestGenerateTriggerShares(t *testing.T) {
	cases := []struct {
		functions int
		tol       float64 // absolute, on invocation shares
	}{
		{2000, 0.01},
		{200, 0.02},
		{10, 0.03}, // no event function: the others' shares are renormalised
	}
	for _, c := range cases {
		tr, trig, err := generate(azure(GenOptions{Functions: c.functions, Invocations: 100_000, Cores: 16, Load: 0.85, Seed: 4}))
		if err != nil {
			t.Fatal(err)
		}
		var nf, ni [numTriggers]float64
		for _, tg := range trig {
			nf[tg]++
		}
		for _, in := range tr.Inv {
			ni[trig[in.Func]]++
		}
		var present float64
		for tg := range numTriggers {
			if want := triggerShares[tg].functions * float64(c.functions); math.Abs(nf[tg]-want) > 1 {
				t.Errorf("%d functions: %d %s functions, want %.1f rounded", c.functions, int(nf[tg]), tg, want)
			}
			if nf[tg] > 0 {
				present += triggerShares[tg].invocations
			}
		}
		for tg := range numTriggers {
			want := 0.0
			if nf[tg] > 0 {
				want = triggerShares[tg].invocations / present
			}
			got := ni[tg] / float64(len(tr.Inv))
			if math.Abs(got-want) > c.tol {
				t.Errorf("%d functions: %s has %.3f of the invocations, want %.3f ± %g", c.functions, tg, got, want, c.tol)
			}
			t.Logf("%d functions: %-5s %4d functions, %.3f of invocations (want %.3f)", c.functions, tg, int(nf[tg]), got, want)
		}
	}
}

// arrivalsByFunc returns each function's arrival times in order.
func arrivalsByFunc(tr *sim.Trace) [][]int64 {
	at := make([][]int64, len(tr.Functions))
	for _, in := range tr.Inv {
		at[in.Func] = append(at[in.Func], in.Arrival)
	}
	return at
}

func TestGenerateTimerSynchrony(t *testing.T) {
	for _, o := range []GenOptions{
		azure(GenOptions{Functions: 2000, Invocations: 100_000, Cores: 16, Load: 0.85, Seed: 5}),
		azure(GenOptions{Functions: 200, Minutes: 10, Cores: 16, Load: 0.85, Seed: 6}),
	} {
		tr, trig, err := generate(o)
		if err != nil {
			t.Fatal(err)
		}
		span := tr.Inv[len(tr.Inv)-1].Arrival + 1
		var timers, atZero, invocations int
		for f, at := range arrivalsByFunc(tr) {
			if trig[f] != triggerTimer || len(at) == 0 {
				continue
			}
			timers++
			invocations += len(at)
			// Whole-second periods: every firing is within the jitter after a whole second,
			// and periods of a minute or more keep the same second of the minute.
			sec := at[0] % minuteNs / secondNs
			if sec == 0 {
				atZero++
			}
			for j, a := range at {
				if a%secondNs >= dispatchJitter && a != span-1 {
					t.Errorf("timer f%d fires at %d ns, not within %d ns after a whole second", f, a, dispatchJitter)
				}
				if j == 0 {
					continue
				}
				period := timerPeriod(span / int64(len(at)))
				if d := a - at[j-1]; d < period-dispatchJitter || d > period+dispatchJitter {
					t.Errorf("timer f%d: firings %d ns apart, want its period %d ns", f, d, period)
				}
				if period >= minuteNs && a != span-1 && a%minuteNs/secondNs != sec {
					t.Errorf("timer f%d fires at second %d and at second %d", f, sec, a%minuteNs/secondNs)
				}
			}
		}
		if timers == 0 {
			t.Fatalf("%d functions: no timer fired", o.Functions)
		}
		// Half the timers fire at second 0, the others at a uniform second (1/60 of them at 0).
		if share := float64(atZero) / float64(timers); timers >= 100 && (share < 0.35 || share > 0.7) {
			t.Errorf("%d of %d timers fire at second 0, want about half", atZero, timers)
		}
		t.Logf("%d functions: %d timers (%d at second 0), %d invocations", o.Functions, timers, atZero, invocations)
	}
}

// perMinuteCV returns the coefficient of variation of the per-minute counts of arrivals
// (full minutes of [0, span) only) and their mean.
func perMinuteCV(at []int64, span int64) (cv, mean float64) {
	counts := make([]float64, span/minuteNs)
	for _, a := range at {
		if m := a / minuteNs; m < int64(len(counts)) {
			counts[m]++
		}
	}
	var s, s2 float64
	for _, c := range counts {
		s += c
		s2 += c * c
	}
	n := float64(len(counts))
	mean = s / n
	return math.Sqrt(s2/n-mean*mean) / mean, mean
}

func TestGeneratePerMinuteCV(t *testing.T) {
	// For the busiest HTTP function (rate λ per minute) per-minute counts have
	// CV² ≈ burstiness² + 1/λ; Poisson arrivals give CV² ≈ 1/λ. Each case spans thousands of
	// minutes, so the sample CV is within 25% of that.
	cases := []struct {
		arrivals   Arrivals
		burstiness float64
	}{
		{ArrivalsPoisson, 0},
		{ArrivalsAzure, 0},
		{ArrivalsAzure, 0.5},
		{ArrivalsAzure, 1},
		{ArrivalsAzure, 1.5},
		{ArrivalsAzure, 2},
	}
	prev := 0.0
	for _, c := range cases {
		o := GenOptions{Functions: 40, Invocations: 300_000, Cores: 16, Load: 0.85, Seed: 7,
			Arrivals: c.arrivals, Burstiness: c.burstiness, Batch: DefaultBatch}
		tr, trig, err := generate(o)
		if err != nil {
			t.Fatal(err)
		}
		at := arrivalsByFunc(tr)
		busiest := -1
		for f := range at {
			if trig[f] == triggerHTTP && (busiest < 0 || len(at[f]) > len(at[busiest])) {
				busiest = f
			}
		}
		span := tr.Inv[len(tr.Inv)-1].Arrival + 1
		if span/minuteNs < 1000 {
			t.Fatalf("span %d minutes, want >= 1000 for a stable CV", span/minuteNs)
		}
		cv, lambda := perMinuteCV(at[busiest], span)
		want := math.Sqrt(c.burstiness*c.burstiness + 1/lambda)
		if math.Abs(cv-want)/want > 0.25 {
			t.Errorf("%v burstiness %g: per-minute CV %.3f (λ = %.1f/min), want %.3f within 25%%", c.arrivals, c.burstiness, cv, lambda, want)
		}
		if c.arrivals == ArrivalsAzure {
			if cv <= prev {
				t.Errorf("burstiness %g: per-minute CV %.3f, not above %.3f of the previous case", c.burstiness, cv, prev)
			}
			prev = cv
		}
		t.Logf("%v burstiness %g: per-minute CV %.3f (λ = %.1f/min, expected %.3f)", c.arrivals, c.burstiness, cv, lambda, want)
	}
}

func TestGenerateBatches(t *testing.T) {
	// Queue and event invocations arrive in batches (geometric sizes of mean --batch, cut at
	// the function's count in the minute) within the jitter of each other, so most have a
	// predecessor of the same function that close; without batches (and for HTTP) almost
	// none do.
	cases := []struct {
		batch  float64
		tg     trigger
		lo, hi float64 // share of consecutive arrivals within the jitter
	}{
		{8, triggerQueue, 0.5, 0.95},
		{8, triggerEvent, 0.5, 0.95},
		{8, triggerHTTP, 0, 0.05},
		{1, triggerQueue, 0, 0.05},
		{1, triggerEvent, 0, 0.05},
		{50, triggerEvent, 0.8, 1},
	}
	for _, c := range cases {
		o := azure(GenOptions{Functions: 200, Invocations: 50_000, Cores: 16, Load: 0.85, Seed: 8})
		o.Batch = c.batch
		tr, trig, err := generate(o)
		if err != nil {
			t.Fatal(err)
		}
		var close, total float64
		for f, at := range arrivalsByFunc(tr) {
			for j := 1; j < len(at) && trig[f] == c.tg; j++ {
				total++
				if at[j]-at[j-1] < dispatchJitter {
					close++
				}
			}
		}
		share := close / total
		if total == 0 || share < c.lo || share > c.hi {
			t.Errorf("batch %g, %s: %.3f of %v consecutive arrivals within %d ns, want in [%g, %g]", c.batch, c.tg, share, total, dispatchJitter, c.lo, c.hi)
		}
		t.Logf("batch %g, %s: %.3f of consecutive arrivals within the jitter", c.batch, c.tg, share)
	}
}

func TestGenerateDeterministic(t *testing.T) {
	base := GenOptions{Functions: 100, Minutes: 5, Cores: 8, Load: 0.9, IOFraction: 0.3, Seed: 11}
	cases := []struct {
		name string
		a, b GenOptions
		same bool
	}{
		{"poisson same seed", base, base, true},
		{"azure same seed", azure(base), azure(base), true},
		{"poisson ignores burstiness and batch", base, func() GenOptions { o := base; o.Burstiness, o.Batch = 3, 50; return o }(), true},
		{"azure other seed", azure(base), func() GenOptions { o := azure(base); o.Seed++; return o }(), false},
		{"azure other burstiness", azure(base), func() GenOptions { o := azure(base); o.Burstiness = 0.5; return o }(), false},
		{"poisson vs azure", base, azure(base), false},
	}
	for _, c := range cases {
		a, err := Generate(c.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Generate(c.b)
		if err != nil {
			t.Fatal(err)
		}
		if same := slices.Equal(a.Inv, b.Inv); same != c.same {
			t.Errorf("%s: traces equal = %v, want %v", c.name, same, c.same)
		}
	}
}

func TestGenerateBadOptions(t *testing.T) {
	ok := azure(GenOptions{Functions: 10, Minutes: 1, Cores: 2, Load: 0.5})
	cases := []struct {
		edit func(*GenOptions)
		flag string
	}{
		{func(o *GenOptions) { o.Functions = 0 }, "--functions"},
		{func(o *GenOptions) { o.Minutes = -1 }, "--minutes"},
		{func(o *GenOptions) { o.Minutes = math.NaN() }, "--minutes"},
		{func(o *GenOptions) { o.Cores = 0 }, "--cores"},
		{func(o *GenOptions) { o.Load = 2 }, "--load"},
		{func(o *GenOptions) { o.IOFraction = -0.1 }, "--io-fraction"},
		{func(o *GenOptions) { o.Arrivals = 7 }, "--arrivals"},
		{func(o *GenOptions) { o.Burstiness = -1 }, "--burstiness"},
		{func(o *GenOptions) { o.Burstiness = math.Inf(1) }, "--burstiness"},
		{func(o *GenOptions) { o.Batch = 0.5 }, "--batch"},
		{func(o *GenOptions) { o.Batch = math.NaN() }, "--batch"},
		{func(o *GenOptions) { o.Batch = 0 }, "--batch"},
	}
	for _, c := range cases {
		o := ok
		c.edit(&o)
		_, err := Generate(o)
		if err == nil || !strings.HasPrefix(err.Error(), c.flag+":") {
			t.Errorf("%+v: error %v, want one naming %s", o, err, c.flag)
		}
	}
	if _, err := Generate(ok); err != nil {
		t.Errorf("valid options: %v", err)
	}
}

func TestParseArrivals(t *testing.T) {
	for _, a := range []Arrivals{ArrivalsPoisson, ArrivalsAzure} {
		got, err := ParseArrivals(a.String())
		if err != nil || got != a {
			t.Errorf("ParseArrivals(%q) = %v, %v; want %v", a.String(), got, err, a)
		}
	}
	for _, s := range []string{"", "Azure", "uniform"} {
		if _, err := ParseArrivals(s); err == nil || !strings.Contains(err.Error(), "azure or poisson") {
			t.Errorf("ParseArrivals(%q): error %v, want one listing the models", s, err)
		}
	}
}

func TestTimerPeriod(t *testing.T) {
	cases := []struct{ most, want int64 }{
		{500e6, 500e6},
		{secondNs, secondNs},
		{7 * secondNs, 6 * secondNs},
		{59 * secondNs, 30 * secondNs},
		{minuteNs, minuteNs},
		{5*minuteNs + 59*secondNs, 5 * minuteNs},
	}
	for _, c := range cases {
		if got := timerPeriod(c.most); got != c.want {
			t.Errorf("timerPeriod(%d) = %d, want %d", c.most, got, c.want)
		}
	}
}
