package frontend

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Metrics are the daemon's Prometheus metrics, on their own registry.
type Metrics struct {
	Registry       *prometheus.Registry
	UpdateSeconds  prometheus.Histogram
	TableSize      prometheus.Gauge
	Records        prometheus.Counter
	RecordsPerSec  prometheus.Gauge
	Dropped        *prometheus.CounterVec
	Ejections      prometheus.Counter
	HeartbeatAge   prometheus.Gauge
	Functions      prometheus.Gauge
	TableVersion   prometheus.Gauge
	PushErrors     prometheus.Counter
	kernelDropSeen uint64
}

// NewMetrics registers the daemon's metrics on a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		UpdateSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "alps_frontend_update_seconds",
			Help:    "Time to run the learner and push the policy table.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1},
		}),
		TableSize:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "alps_frontend_table_size", Help: "Functions in the installed policy table."}),
		Records:       prometheus.NewCounter(prometheus.CounterOpts{Name: "alps_frontend_records_total", Help: "Invocation records received."}),
		RecordsPerSec: prometheus.NewGauge(prometheus.GaugeOpts{Name: "alps_frontend_records_per_second", Help: "Invocation records received per second over the last update interval."}),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "alps_frontend_dropped_records_total",
			Help: "Invocation records dropped, by where (kernel: ring buffer full; frontend: buffer between updates full)."}, []string{"where"}),
		Ejections:    prometheus.NewCounter(prometheus.CounterOpts{Name: "alps_frontend_ejections_total", Help: "Times the kernel ejected the scheduler."}),
		HeartbeatAge: prometheus.NewGauge(prometheus.GaugeOpts{Name: "alps_frontend_heartbeat_age_seconds", Help: "Time since the last heartbeat was written."}),
		Functions:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "alps_frontend_functions", Help: "Functions known to the classifier."}),
		TableVersion: prometheus.NewGauge(prometheus.GaugeOpts{Name: "alps_frontend_table_version", Help: "Version of the installed policy table."}),
		PushErrors:   prometheus.NewCounter(prometheus.CounterOpts{Name: "alps_frontend_push_errors_total", Help: "Failed policy pushes and heartbeats."}),
	}
	m.Registry.MustRegister(m.UpdateSeconds, m.TableSize, m.Records, m.RecordsPerSec, m.Dropped,
		m.Ejections, m.HeartbeatAge, m.Functions, m.TableVersion, m.PushErrors)
	return m
}

// kernelDropped adds the kernel side's drop counter, which only grows, to the metric.
func (m *Metrics) kernelDropped(total uint64) {
	if total > m.kernelDropSeen {
		m.Dropped.WithLabelValues("kernel").Add(float64(total - m.kernelDropSeen))
		m.kernelDropSeen = total
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil || m.Counter == nil {
		return 0
	}
	return m.Counter.GetValue()
}
