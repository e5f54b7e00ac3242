package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/alps-sched/alps/cmd/internal/outfile"
	"github.com/alps-sched/alps/sim"
	"github.com/alps-sched/alps/sim/trace"
)

// writeRecords writes one CSV row per invocation of a simulation (times in ms).
func writeRecords(path string, tr *sim.Trace, res *sim.Result) error {
	err := outfile.Write(path, 0o644, func(w io.Writer) error {
		io.WriteString(w, "arrival_ms,function,cpu_ms,io_ms,start_ms,end_ms,fct_ms,wait_ms,slowdown,preemptions,wakeups\n")
		var b []byte
		ms := func(b []byte, ns int64) []byte { return strconv.AppendFloat(b, float64(ns)/1e6, 'f', -1, 64) }
		for i := range res.Records {
			r := &res.Records[i]
			b = ms(b[:0], r.Arrival)
			b = append(b, ',')
			b = trace.AppendField(b, tr.Functions[r.Func])
			for _, v := range []int64{r.CPU, r.Blocked, r.Start, r.End, r.FCT(), r.Wait()} {
				b = append(b, ',')
				b = ms(b, v)
			}
			b = append(b, ',')
			b = strconv.AppendFloat(b, r.Slowdown(), 'g', 6, 64)
			b = append(b, ',')
			b = strconv.AppendUint(b, uint64(r.Preemptions), 10)
			b = append(b, ',')
			b = strconv.AppendUint(b, uint64(r.Wakeups), 10)
			b = append(b, '\n')
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return nil
}

// deciles is the number of demand buckets of slowdown_by_demand.png.
const deciles = 10

// figures keeps, policy by policy, what the PNG figures need (at most 400 points of the FCT
// CDF and the slowdown sums per demand decile), so a policy's records can be dropped once it
// has been added.
type figures struct {
	edges  []float64 // upper demand bounds (ns) of the first deciles-1 buckets
	top    float64   // the largest demand (ns)
	buf    []float64 // scratch, one float64 per invocation
	series []series
}

type series struct {
	policy string
	cdf    plotter.XYs
	sum    [deciles]float64
	cnt    [deciles]int
}

func newFigures(tr *sim.Trace) *figures {
	d := make([]float64, len(tr.Inv))
	for i := range tr.Inv {
		d[i] = float64(tr.Inv[i].CPU)
	}
	slices.Sort(d)
	f := &figures{edges: make([]float64, deciles-1), top: d[len(d)-1], buf: d}
	for k := range f.edges {
		f.edges[k] = d[(k+1)*len(d)/deciles]
	}
	return f
}

// add takes what the figures need from a finished simulation.
func (f *figures) add(res *sim.Result) {
	s := series{policy: res.Policy}
	v := f.buf[:0]
	for j := range res.Records {
		v = append(v, float64(res.Records[j].FCT())/1e6)
	}
	s.cdf = cdfPoints(v)
	f.buf = v
	for j := range res.Records {
		r := &res.Records[j]
		b, _ := slices.BinarySearch(f.edges, float64(r.CPU))
		s.sum[b] += r.Slowdown()
		s.cnt[b]++
	}
	f.series = append(f.series, s)
}

// write draws the FCT CDF per policy and the mean slowdown per demand bucket into dir.
func (f *figures) write(dir string) error {
	for _, fig := range []struct {
		name string
		draw func() (*plot.Plot, vg.Length, vg.Length, error)
	}{{"fct_cdf.png", f.fctCDF}, {"slowdown_by_demand.png", f.slowdownByDemand}} {
		p, w, h, err := fig.draw()
		if err != nil {
			return fmt.Errorf("%s: %w", fig.name, err)
		}
		wt, err := p.WriterTo(w, h, "png")
		if err != nil {
			return fmt.Errorf("%s: %w", fig.name, err)
		}
		err = outfile.Write(filepath.Join(dir, fig.name), 0o644, func(out io.Writer) error {
			_, err := wt.WriteTo(out)
			return err
		})
		if err != nil {
			return fmt.Errorf("%s: %w", fig.name, err)
		}
	}
	return nil
}

// cdfPoints is at most 400 points of the empirical CDF of v (ms), on a log10 x axis.
func cdfPoints(v []float64) plotter.XYs {
	slices.Sort(v)
	n := len(v)
	step := max(n/400, 1)
	var pts plotter.XYs
	for i := 0; i < n; i += step {
		pts = append(pts, plotter.XY{X: math.Log10(max(v[i], 1e-3)), Y: float64(i+1) / float64(n)})
	}
	pts = append(pts, plotter.XY{X: math.Log10(max(v[n-1], 1e-3)), Y: 1})
	return pts
}

func (f *figures) fctCDF() (*plot.Plot, vg.Length, vg.Length, error) {
	p := plot.New()
	p.Title.Text = "Completion time (FCT) CDF"
	p.X.Label.Text = "FCT (ms, log10 scale)"
	p.Y.Label.Text = "fraction of invocations"
	p.X.Tick.Marker = log10Ticks{}
	p.Y.Min, p.Y.Max = 0, 1
	p.Legend.Top, p.Legend.Left = false, false
	p.Add(plotter.NewGrid())
	for i, s := range f.series {
		l, err := plotter.NewLine(s.cdf)
		if err != nil {
			return nil, 0, 0, err
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(s.policy, l)
	}
	p.Legend.Top = false
	p.Legend.XOffs = -vg.Points(10)
	p.Legend.YOffs = vg.Points(20)
	return p, 7 * vg.Inch, 4.5 * vg.Inch, nil
}

// log10Ticks labels a log10 axis with powers of ten.
type log10Ticks struct{}

func (log10Ticks) Ticks(min, max float64) []plot.Tick {
	var t []plot.Tick
	for e := math.Floor(min); e <= math.Ceil(max); e++ {
		t = append(t, plot.Tick{Value: e, Label: strconv.FormatFloat(math.Pow(10, e), 'g', -1, 64)})
	}
	return t
}

// slowdownByDemand draws, per policy, the mean slowdown of the invocations in each demand
// decile of the trace.
func (f *figures) slowdownByDemand() (*plot.Plot, vg.Length, vg.Length, error) {
	p := plot.New()
	p.Title.Text = "Mean slowdown by CPU-demand decile"
	p.X.Label.Text = "demand decile (upper bound)"
	p.Y.Label.Text = "mean slowdown (FCT / (cpu + io)), log10"
	p.Y.Tick.Marker = log10Ticks{}
	p.Add(plotter.NewGrid())
	w := vg.Points(40 / float64(max(len(f.series), 1)))
	names := make([]string, deciles)
	for k := range names {
		hi := f.top
		if k < len(f.edges) {
			hi = f.edges[k]
		}
		names[k] = msLabel(hi / 1e6)
	}
	ymax := 0.0
	for i, s := range f.series {
		vals := make(plotter.Values, deciles)
		for k := range vals {
			if s.cnt[k] > 0 {
				vals[k] = math.Log10(s.sum[k] / float64(s.cnt[k]))
				ymax = max(ymax, vals[k])
			}
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return nil, 0, 0, err
		}
		bars.Color = plotutil.Color(i)
		bars.LineStyle.Width = 0
		bars.Offset = w * vg.Length(float64(i)-float64(len(f.series)-1)/2)
		p.Add(bars)
		p.Legend.Add(s.policy, bars)
	}
	p.Legend.Top, p.Legend.Left = true, false
	p.Y.Min = 0
	p.Y.Max = ymax*1.1 + 0.05
	p.NominalX(names...)
	return p, 8 * vg.Inch, 4.5 * vg.Inch, nil
}

func msLabel(ms float64) string {
	switch {
	case ms >= 1000:
		return strconv.FormatFloat(ms/1000, 'g', 3, 64) + "s"
	default:
		return strconv.FormatFloat(ms, 'g', 3, 64) + "ms"
	}
}
