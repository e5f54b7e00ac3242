package analysis

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var palette = map[string]color.Color{
	"default": color.RGBA{R: 200, G: 60, B: 50, A: 255},
	"vtime":   color.RGBA{R: 80, G: 80, B: 200, A: 255},
	"alps":    color.RGBA{R: 30, G: 150, B: 60, A: 255},
}

func colorOf(name string) color.Color {
	if c, ok := palette[name]; ok {
		return c
	}
	return color.Gray{Y: 90}
}

// Series is one scheduler's outcomes for a figure (several runs' outcomes pooled).
type Series struct {
	Name     string
	Outcomes []Outcome
	Dashed   bool // e.g. the simulator's prediction
}

func label(s Series) string {
	if s.Dashed {
		return s.Name + " (simulated)"
	}
	return s.Name + " (measured)"
}

// style sets a line's colour, width and dashes for series s.
func style(l *draw.LineStyle, s Series) {
	l.Color = colorOf(s.Name)
	l.Width = vg.Points(1.5)
	if s.Dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
}

// figure sizes (PNG); the legend gets a column of its own right of the data.
const (
	figWidth    = 8 * vg.Inch
	figHeight   = 4.5 * vg.Inch
	legendWidth = 1.9 * vg.Inch
)

// save draws p with legend leg in a column to the right of the plot (never over the data)
// and writes a PNG to path.
func save(p *plot.Plot, leg plot.Legend, path string) error {
	img := vgimg.New(figWidth, figHeight)
	dc := draw.New(img)
	p.Draw(draw.Crop(dc, 0, -legendWidth, 0, 0))
	lc := draw.Crop(dc, figWidth-legendWidth+vg.Points(6), 0, 0, 0)
	leg.Top, leg.Left = true, true
	leg.YOffs = -p.Title.TextStyle.Height(p.Title.Text) - vg.Points(12)
	leg.Draw(lc)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// PlotFCTCDF writes the CDF of completion times, one line per series, to path (PNG).
func PlotFCTCDF(path string, series []Series) error {
	p := plot.New()
	p.Title.Text = "Completion time (FCT) CDF"
	p.X.Label.Text = "FCT (ms, log scale)"
	p.Y.Label.Text = "fraction of invocations"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = logTicks{}
	p.Y.Min, p.Y.Max = 0, 1
	p.Add(plotter.NewGrid())
	leg := plot.NewLegend()
	for _, s := range series {
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
		style(&l.LineStyle, s)
		p.Add(l)
		leg.Add(label(s), l)
	}
	return save(p, leg, path)
}

// DemandBuckets returns the edges of the slowdown figure's demand buckets: about n
// log-spaced buckets from the smallest to the largest demand (ns), each edge rounded to
// two significant digits, duplicates dropped so that every bucket has a width.
func DemandBuckets(demands []float64, n int) []float64 {
	if len(demands) == 0 || n < 1 {
		return nil
	}
	lo, hi := demands[0], demands[0]
	for _, d := range demands {
		lo, hi = math.Min(lo, d), math.Max(hi, d)
	}
	lo = math.Max(lo, 1)
	if hi <= lo {
		return []float64{lo, lo * 1.01}
	}
	edges := []float64{lo}
	for k := 1; k < n; k++ {
		e := round2(lo * math.Pow(hi/lo, float64(k)/float64(n)))
		if e > edges[len(edges)-1] && e < hi {
			edges = append(edges, e)
		}
	}
	return append(edges, hi)
}

// round2 rounds x to two significant digits.
func round2(x float64) float64 {
	if x <= 0 {
		return x
	}
	p := math.Pow(10, math.Floor(math.Log10(x))-1)
	return math.Round(x/p) * p
}

// Buckets is the number of demand buckets of the slowdown figure.
const Buckets = 8

// PlotSlowdownByDemand writes the mean slowdown per demand bucket (log-spaced over the
// demands of the first series), one line per series, to path (PNG). A point sits at its
// bucket's geometric centre.
func PlotSlowdownByDemand(path string, series []Series) error {
	if len(series) == 0 {
		return fmt.Errorf("plot: no series")
	}
	var ds []float64
	for _, o := range series[0].Outcomes {
		ds = append(ds, float64(o.Demand()))
	}
	edges := DemandBuckets(ds, Buckets)
	nb := len(edges) - 1
	bucketOf := func(d float64) int {
		return min(max(sort.SearchFloat64s(edges[1:nb], d), 0), nb-1)
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Mean slowdown by demand (%d log-spaced buckets, %.1f-%.0f ms)", nb, edges[0]/1e6, edges[nb]/1e6)
	p.X.Label.Text = "demand: CPU + I/O time asked for (ms, log scale)"
	p.Y.Label.Text = "mean slowdown (FCT / demand, log scale)"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = logTicks{}, logTicks{}
	p.X.Min, p.X.Max = edges[0]/1e6, edges[nb]/1e6
	p.Add(plotter.NewGrid())
	leg := plot.NewLegend()
	for _, s := range series {
		sum := make([]float64, nb)
		n := make([]int, nb)
		for _, o := range s.Outcomes {
			if o.Lost {
				continue
			}
			b := bucketOf(float64(o.Demand()))
			sum[b] += o.Slowdown()
			n[b]++
		}
		var pts plotter.XYs
		for b := range nb {
			if n[b] > 0 {
				pts = append(pts, plotter.XY{X: math.Sqrt(edges[b]*edges[b+1]) / 1e6, Y: math.Max(sum[b]/float64(n[b]), 1e-3)})
			}
		}
		if len(pts) == 0 {
			continue
		}
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return fmt.Errorf("plot %s: %w", s.Name, err)
		}
		style(&l.LineStyle, s)
		sc.Color = colorOf(s.Name)
		p.Add(l, sc)
		leg.Add(label(s), l, sc)
	}
	return save(p, leg, path)
}

// PlotAll writes fct_cdf.png and slowdown_by_demand.png into dir.
func PlotAll(dir string, series []Series) error {
	if err := PlotFCTCDF(filepath.Join(dir, "fct_cdf.png"), series); err != nil {
		return err
	}
	return PlotSlowdownByDemand(filepath.Join(dir, "slowdown_by_demand.png"), series)
}

// LoadPoint is one figure at one load: its value per seed (or run).
type LoadPoint struct {
	Load   float64
	Values []float64
}

// LoadSeries is one scheduler's figure against load.
type LoadSeries struct {
	Name   string
	Points []LoadPoint
	Dashed bool // the prediction
	// Dodge shifts the series' points along the load axis, so that error bars of several
	// series at one load stay apart.
	Dodge float64
	// Label is the legend's text (default: the name, with "measured" or "simulated").
	Label string
}

// PlotAgainstLoad writes a figure against offered load to path (PNG): per series a line
// through the medians, with the range of the values as error bars for measured series.
func PlotAgainstLoad(path, title, ylabel string, series []LoadSeries) error {
	p, leg, err := againstLoad(title, ylabel, series)
	if err != nil {
		return err
	}
	return save(p, leg, path)
}

// PlotRatioAgainstLoad is PlotAgainstLoad for ratios around 1, with the band [1/band, band]
// drawn as two grey lines.
func PlotRatioAgainstLoad(path, title, ylabel string, series []LoadSeries, band float64) error {
	p, leg, err := againstLoad(title, ylabel, series)
	if err != nil {
		return err
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, lp := range s.Points {
			lo, hi = math.Min(lo, lp.Load), math.Max(hi, lp.Load)
		}
	}
	for _, y := range []float64{1 / band, band} {
		l, err := plotter.NewLine(plotter.XYs{{X: lo - 0.05, Y: y}, {X: hi + 0.05, Y: y}})
		if err != nil {
			return err
		}
		l.Color = color.Gray{Y: 140}
		l.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(l)
		if y > 1 {
			leg.Add(fmt.Sprintf("within %.2fx", band), l)
		}
	}
	p.Y.Min, p.Y.Max = math.Min(p.Y.Min, 0.7), math.Max(p.Y.Max, 1.45)
	p.Y.Tick.Marker = ratioTicks{}
	return save(p, leg, path)
}

func againstLoad(title, ylabel string, series []LoadSeries) (*plot.Plot, plot.Legend, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "offered load (CPU demand / CPU time available)"
	p.Y.Label.Text = ylabel
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = logTicks{}
	p.Add(plotter.NewGrid())
	leg := plot.NewLegend()
	loMin, loMax := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, lp := range s.Points {
			loMin, loMax = math.Min(loMin, lp.Load), math.Max(loMax, lp.Load)
		}
	}
	if loMax >= loMin {
		p.X.Min, p.X.Max = loMin-0.05, loMax+0.05
	}
	p.X.Tick.Marker = loadTicks(series)
	spread := false // some measured point has several values: the legend says what bars are
	for _, s := range series {
		var pts plotter.XYs
		var errs plotter.YErrors
		for _, lp := range s.Points {
			if len(lp.Values) == 0 {
				continue
			}
			m := Median(lp.Values)
			if m <= 0 {
				continue
			}
			lo, hi := m, m
			for _, v := range lp.Values {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
			pts = append(pts, plotter.XY{X: lp.Load + s.Dodge, Y: m})
			errs = append(errs, struct{ Low, High float64 }{m - math.Max(lo, m*1e-3), hi - m})
			spread = spread || (!s.Dashed && len(lp.Values) > 1)
		}
		if len(pts) == 0 {
			continue
		}
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, leg, fmt.Errorf("plot %s: %w", s.Name, err)
		}
		sr := Series{Name: s.Name, Dashed: s.Dashed}
		style(&l.LineStyle, sr)
		sc.Color = colorOf(s.Name)
		p.Add(l, sc)
		if !s.Dashed {
			eb, err := plotter.NewYErrorBars(struct {
				plotter.XYer
				plotter.YErrorer
			}{pts, errs})
			if err != nil {
				return nil, leg, fmt.Errorf("plot %s: %w", s.Name, err)
			}
			eb.LineStyle.Color = colorOf(s.Name)
			p.Add(eb)
		}
		text := label(sr)
		if s.Label != "" {
			text = s.Label
		}
		leg.Add(text, l, sc)
	}
	if spread {
		leg.Add("markers: medians")
		leg.Add("bars: min to max")
	}
	// A margin on the log axis, so that the extreme markers are not cut by the frame.
	if p.Y.Max > p.Y.Min && p.Y.Min > 0 {
		p.Y.Min, p.Y.Max = p.Y.Min/1.12, p.Y.Max*1.12
	}
	return p, leg, nil
}

// loadTicks labels the load axis at the loads measured.
func loadTicks(series []LoadSeries) plot.ConstantTicks {
	var loads []float64
	for _, s := range series {
		for _, lp := range s.Points {
			if !slices.Contains(loads, lp.Load) {
				loads = append(loads, lp.Load)
			}
		}
	}
	slices.Sort(loads)
	ts := make(plot.ConstantTicks, len(loads))
	for i, l := range loads {
		ts[i] = plot.Tick{Value: l, Label: strconv.FormatFloat(l, 'f', 2, 64)}
	}
	return ts
}

// ratioTicks labels a log axis of ratios at factors people read (0.8, 1.25, 1.5, 2, ...),
// with minor ticks at the tenths in between.
type ratioTicks struct{}

func (ratioTicks) Ticks(lo, hi float64) []plot.Tick {
	labelled := []float64{0.1, 0.2, 0.3, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 3, 5, 10}
	var ts []plot.Tick
	for _, v := range labelled {
		if v >= lo*(1-1e-9) && v <= hi*(1+1e-9) {
			ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', 3, 64)})
		}
	}
	for _, t := range (logTicks{}).Ticks(lo, hi) {
		if !slices.ContainsFunc(ts, func(x plot.Tick) bool { return math.Abs(x.Value-t.Value) < 1e-9 }) {
			ts = append(ts, plot.Tick{Value: t.Value})
		}
	}
	return ts
}

// logTicks labels a log axis at 1, 2 and 5 times the powers of ten it spans (also 3 within
// a decade and a half, every tick within a factor of 3, every power of ten only past three
// decades), with minor ticks in between, so that even a narrow range has several labels.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) {
		return nil
	}
	steps := []float64{1, 2, 5}
	switch {
	case hi/lo > 1000:
		steps = []float64{1}
	case hi/lo < 3:
		steps = []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}
	case hi/lo < 30:
		steps = []float64{1, 2, 3, 5}
	}
	var ts []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		p := math.Pow(10, e)
		for m := 1.0; m < 10; m++ {
			v := m * p
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if slices.Contains(steps, m) {
				t.Label = strconv.FormatFloat(v, 'g', 6, 64)
			}
			ts = append(ts, t)
		}
	}
	return ts
}
