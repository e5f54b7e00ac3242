package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/alps-sched/alps/sim"
)

// writeRecords writes one CSV row per invocation of a simulation (times in ms).
func writeRecords(path string, tr *sim.Trace, res *sim.Result) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	bw.WriteString("arrival_ms,function,cpu_ms,io_ms,start_ms,end_ms,fct_ms,wait_ms,slowdown,preemptions,wakeups\n")
	var b []byte
	ms := func(b []byte, ns int64) []byte { return strconv.AppendFloat(b, float64(ns)/1e6, 'f', -1, 64) }
	for i := range res.Records {
		r := &res.Records[i]
		b = ms(b[:0], r.Arrival)
		b = append(b, ',')
		b = append(b, tr.Functions[r.Func]...)
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
		bw.Write(b)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("--out: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}

// writeFigures draws the FCT CDF per policy and the mean slowdown per demand bucket.
func writeFigures(dir string, tr *sim.Trace, results []*sim.Result) error {
	if err := fctCDF(filepath.Join(dir, "fct_cdf.png"), results); err != nil {
		return fmt.Errorf("--out: fct_cdf.png: %w", err)
	}
	if err := slowdownByDemand(filepath.Join(dir, "slowdown_by_demand.png"), tr, results); err != nil {
		return fmt.Errorf("--out: slowdown_by_demand.png: %w", err)
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

func fctCDF(path string, results []*sim.Result) error {
	p := plot.New()
	p.Title.Text = "Completion time (FCT) CDF"
	p.X.Label.Text = "FCT (ms, log10 scale)"
	p.Y.Label.Text = "fraction of invocations"
	p.X.Tick.Marker = log10Ticks{}
	p.Y.Min, p.Y.Max = 0, 1
	p.Legend.Top, p.Legend.Left = false, false
	p.Add(plotter.NewGrid())
	for i, res := range results {
		v := make([]float64, len(res.Records))
		for j := range res.Records {
			v[j] = float64(res.Records[j].FCT()) / 1e6
		}
		l, err := plotter.NewLine(cdfPoints(v))
		if err != nil {
			return err
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(res.Policy, l)
	}
	p.Legend.Top = false
	p.Legend.XOffs = -vg.Points(10)
	p.Legend.YOffs = vg.Points(20)
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
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
func slowdownByDemand(path string, tr *sim.Trace, results []*sim.Result) error {
	const buckets = 10
	d := make([]float64, len(tr.Inv))
	for i := range tr.Inv {
		d[i] = float64(tr.Inv[i].CPU)
	}
	slices.Sort(d)
	edges := make([]float64, buckets-1)
	for k := range edges {
		edges[k] = d[(k+1)*len(d)/buckets]
	}
	bucket := func(cpu int64) int {
		b, _ := slices.BinarySearch(edges, float64(cpu))
		return b
	}
	p := plot.New()
	p.Title.Text = "Mean slowdown by CPU-demand decile"
	p.X.Label.Text = "demand decile (upper bound)"
	p.Y.Label.Text = "mean slowdown (FCT / (cpu + io)), log10"
	p.Y.Tick.Marker = log10Ticks{}
	p.Add(plotter.NewGrid())
	w := vg.Points(40 / float64(max(len(results), 1)))
	names := make([]string, buckets)
	for k := range names {
		hi := d[len(d)-1]
		if k < len(edges) {
			hi = edges[k]
		}
		names[k] = msLabel(hi / 1e6)
	}
	ymax := 0.0
	for i, res := range results {
		var sum [buckets]float64
		var cnt [buckets]int
		for j := range res.Records {
			r := &res.Records[j]
			b := bucket(r.CPU)
			sum[b] += r.Slowdown()
			cnt[b]++
		}
		vals := make(plotter.Values, buckets)
		for k := range vals {
			if cnt[k] > 0 {
				vals[k] = math.Log10(sum[k] / float64(cnt[k]))
				ymax = max(ymax, vals[k])
			}
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		bars.Color = plotutil.Color(i)
		bars.LineStyle.Width = 0
		bars.Offset = w * vg.Length(float64(i)-float64(len(results)-1)/2)
		p.Add(bars)
		p.Legend.Add(res.Policy, bars)
	}
	p.Legend.Top, p.Legend.Left = true, false
	p.Y.Min = 0
	p.Y.Max = ymax*1.1 + 0.05
	p.NominalX(names...)
	return p.Save(8*vg.Inch, 4.5*vg.Inch, path)
}

func msLabel(ms float64) string {
	switch {
	case ms >= 1000:
		return strconv.FormatFloat(ms/1000, 'g', 3, 64) + "s"
	default:
		return strconv.FormatFloat(ms, 'g', 3, 64) + "ms"
	}
}
