// Package metrics exposes what operators alert on as Prometheus metrics:
// rotation outcomes and durations as this process saw them, and every
// asset's certificate expiry as the inventory records it. Names follow
// ottr_<subsystem>_<name>_<unit>; labels are bounded by the inventory
// (system_name, host_platform) and by fixed sets (result), never by
// request input.
package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/prometheus/client_golang/prometheus"
)

// Rotations counts finished rotations and times them. It is an
// ottr.Notifier, so the rotation engine reports to it as to any other
// channel, and a prometheus.Collector.
type Rotations struct {
	total    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewRotations makes the rotation metrics.
func NewRotations() *Rotations {
	return &Rotations{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ottr_rotations_total",
			Help: "Rotations finished by this process, by result (succeeded, failed) and platform.",
		}, []string{"result", "host_platform"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ottr_rotation_duration_seconds",
			Help:    "Time from a rotation's start to its end, by result.",
			Buckets: []float64{1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800},
		}, []string{"result"}),
	}
}

var (
	_ ottr.Notifier        = (*Rotations)(nil)
	_ prometheus.Collector = (*Rotations)(nil)
)

// Notify records one finished rotation.
func (m *Rotations) Notify(_ context.Context, r *ottr.Rotation, a *ottr.Asset) error {
	result := string(r.State)
	if r.State != ottr.StateSucceeded && r.State != ottr.StateFailed {
		return nil
	}
	platform := ""
	if a != nil {
		platform = a.HostPlatform
	}
	m.total.WithLabelValues(result, platform).Inc()
	if r.StartedAt != nil && r.FinishedAt != nil {
		m.duration.WithLabelValues(result).Observe(r.FinishedAt.Sub(*r.StartedAt).Seconds())
	}
	return nil
}

// Describe implements prometheus.Collector.
func (m *Rotations) Describe(ch chan<- *prometheus.Desc) {
	m.total.Describe(ch)
	m.duration.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Rotations) Collect(ch chan<- prometheus.Metric) {
	m.total.Collect(ch)
	m.duration.Collect(ch)
}

// Expiry reads the inventory at each scrape: one expiry gauge per asset
// that has a certificate, labelled with whether Ottr rotates it or only
// watches it (no route serves the asset: ottr.Asset.Monitored), a count
// of assets by state and one of the monitored ones. Every replica reports
// the same inventory; aggregate with max, not sum.
type Expiry struct {
	Assets ottr.AssetStore
	// Timeout bounds one scrape's reading; default 10s.
	Timeout time.Duration
}

var (
	expiryDesc = prometheus.NewDesc("ottr_certificate_expiry_timestamp_seconds",
		"When the certificate on each asset expires (Unix time), as last recorded; mode is rotated (by Ottr) or monitored (no route: only read from the device).",
		[]string{"system_name", "host_platform", "mode"}, nil)
	monitoredDesc = prometheus.NewDesc("ottr_assets_monitored",
		"Assets no route serves, whose served certificate is only read and recorded.", nil, nil)
	assetsDesc = prometheus.NewDesc("ottr_assets",
		"Assets by state: never_rotated (no certificate recorded), failing (last rotation failed), ok.", []string{"state"}, nil)
	scrapeErrDesc = prometheus.NewDesc("ottr_inventory_scrape_error",
		"1 if the last reading of the inventory for these metrics failed.", nil, nil)
)

// Describe implements prometheus.Collector.
func (e *Expiry) Describe(ch chan<- *prometheus.Desc) {
	ch <- expiryDesc
	ch <- assetsDesc
	ch <- monitoredDesc
	ch <- scrapeErrDesc
}

// Collect implements prometheus.Collector.
func (e *Expiry) Collect(ch chan<- prometheus.Metric) {
	timeout := e.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	counts := map[string]float64{"never_rotated": 0, "failing": 0, "ok": 0}
	monitored := 0.0
	err := e.each(ctx, func(a *ottr.Asset) {
		mode := "rotated"
		if a.Monitored {
			mode = "monitored"
			monitored++
		}
		switch {
		case a.LastRotation != nil && a.LastRotation.Status == string(ottr.StateFailed):
			counts["failing"]++
		case a.CertificateExpiration == nil:
			counts["never_rotated"]++
		default:
			counts["ok"]++
		}
		if a.CertificateExpiration != nil {
			ch <- prometheus.MustNewConstMetric(expiryDesc, prometheus.GaugeValue,
				float64(a.CertificateExpiration.Unix()), a.SystemName, a.HostPlatform, mode)
		}
	})
	failed := 0.0
	if err != nil {
		failed = 1
	} else {
		for state, n := range counts {
			ch <- prometheus.MustNewConstMetric(assetsDesc, prometheus.GaugeValue, n, state)
		}
		ch <- prometheus.MustNewConstMetric(monitoredDesc, prometheus.GaugeValue, monitored)
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrDesc, prometheus.GaugeValue, failed)
}

// each pages through every asset.
func (e *Expiry) each(ctx context.Context, fn func(*ottr.Asset)) error {
	if e.Assets == nil {
		return errors.New("no asset store")
	}
	cursor := ""
	for {
		page, next, err := e.Assets.FindAssets(ctx, ottr.AssetFilter{Limit: 1000, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, a := range page {
			fn(a)
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}
