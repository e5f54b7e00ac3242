package analysis

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"sort"

	"github.com/alps-sched/alps/sim/metrics"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

var palette = map[string]color.Color{
	"default": color.RGBA{R: 200, G: 60, B: 50, A: 255},
	"vtime":   color.RGBA{R: 80, G: 80, B: 200, A: 255},
	"alps":    color.RGBA{R: 30, G: 150, B: 60, A: 255},
}

func colorOf(name string, i int) color.Color {
	if c, ok := palette[name]; ok {
		return c
	}
	return plotter.DefaultLineStyle.Color
}

// Series is one scheduler's outcomes for a figure.
type Series struct {
	Name     string
	Outcomes []Outcome
	Dashed   bool // e.g. the simulator's prediction
}

// PlotFCTCDF writes the CDF of completion times, one line per series, to path (PNG).
func PlotFCTCDF(path string, series []Series) error {
	p := plot.New()
	p.Title.Text = "Completion time (FCT) CDF"
	p.X.Label.Text = "FCT (ms, log scale)"
	p.Y.Label.Text = "fraction of invocations"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	for i, s := range series {
		var f []float64
		for _, o := range s.Outcomes {
			if !o.Lost {
				f = append(f, math.Max(float64(o.FCT)/1e6, 0.01))
			}
		}
		if len(f) == 0 {
			continue
		}
		sort.Float64s(f)
		pts := make(plotter.XYs, len(f))
		for j, x := range f {
			pts[j] = plotter.XY{X: x, Y: float64(j+1) / float64(len(f))}
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("plot %s: %w", s.Name, err)
		}
		l.Color = colorOf(s.Name, i)
		l.Width = vg.Points(1.5)
		if s.Dashed {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l)
		p.Legend.Add(label(s), l)
	}
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.YOffs = vg.Points(20)
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}

func label(s Series) string {
	if s.Dashed {
		return s.Name + " (simulated)"
	}
	return s.Name
}

// Buckets is the number of demand buckets of the slowdown figure.
const Buckets = 6

// PlotSlowdownByDemand writes mean slowdown per demand bucket (quantiles of the demand of the
// first series' invocations), one line per series, to path (PNG).
func PlotSlowdownByDemand(path string, series []Series) error {
	if len(series) == 0 {
		return fmt.Errorf("plot: no series")
	}
	var ds []float64
	for _, o := range series[0].Outcomes {
		ds = append(ds, float64(o.Demand()))
	}
	sort.Float64s(ds)
	edges := make([]float64, Buckets+1)
	for b := 0; b <= Buckets; b++ {
		edges[b] = metrics.Quantile(ds, float64(b)/Buckets)
	}
	bucketOf := func(d float64) int {
		for b := 1; b < Buckets; b++ {
			if d <= edges[b] {
				return b - 1
			}
		}
		return Buckets - 1
	}
	p := plot.New()
	p.Title.Text = "Mean slowdown by demand bucket (demand sextiles)"
	p.X.Label.Text = "demand bucket (upper edge, ms)"
	p.Y.Label.Text = "mean slowdown (FCT / demand, log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	names := make([]string, Buckets)
	for b := range names {
		names[b] = fmt.Sprintf("%.0f", edges[b+1]/1e6)
	}
	p.NominalX(names...)
	for i, s := range series {
		sum := make([]float64, Buckets)
		n := make([]int, Buckets)
		for _, o := range s.Outcomes {
			if o.Lost {
				continue
			}
			b := bucketOf(float64(o.Demand()))
			sum[b] += o.Slowdown()
			n[b]++
		}
		var pts plotter.XYs
		for b := 0; b < Buckets; b++ {
			if n[b] > 0 {
				pts = append(pts, plotter.XY{X: float64(b), Y: math.Max(sum[b]/float64(n[b]), 1e-3)})
			}
		}
		if len(pts) == 0 {
			continue
		}
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return fmt.Errorf("plot %s: %w", s.Name, err)
		}
		l.Color, sc.Color = colorOf(s.Name, i), colorOf(s.Name, i)
		l.Width = vg.Points(1.5)
		if s.Dashed {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l, sc)
		p.Legend.Add(label(s), l, sc)
	}
	p.Legend.Top = true
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}

// PlotAll writes fct_cdf.png and slowdown_by_demand.png into dir.
func PlotAll(dir string, series []Series) error {
	if err := PlotFCTCDF(filepath.Join(dir, "fct_cdf.png"), series); err != nil {
		return err
	}
	return PlotSlowdownByDemand(filepath.Join(dir, "slowdown_by_demand.png"), series)
}
