package alerting

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

const (
	namespace        = "vigil"
	labelReceiver    = "receiver"
	labelIntegration = "integration"
	labelState       = "state"
)

type metrics struct {
	notifications *prometheus.CounterVec
	failed        *prometheus.CounterVec
	dropped       *prometheus.CounterVec
	outbox        *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer, silences func(time.Time) map[SilenceState]int, now func() time.Time) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		notifications: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "notifications_total",
			Help: "Delivery attempts of notifications, per receiver and integration kind.",
		}, []string{labelReceiver, labelIntegration}),
		failed: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "notifications_failed_total",
			Help: "Delivery attempts that failed (retryable or permanent), per receiver and integration kind.",
		}, []string{labelReceiver, labelIntegration}),
		dropped: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "notifications_dropped_total",
			Help: "Notifications given up: evicted from a full outbox, or refused with a permanent error.",
		}, []string{labelReceiver}),
		outbox: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "notification_outbox",
			Help: "Notifications queued for delivery (durably), per receiver.",
		}, []string{labelReceiver}),
	}
	for _, st := range []SilenceState{SilenceActive, SilencePending, SilenceExpired} {
		f.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: namespace, Name: "silences",
			Help:        "Silences by state.",
			ConstLabels: prometheus.Labels{labelState: string(st)},
		}, func() float64 { return float64(silences(now())[st]) })
	}
	return m
}

// initFor pre-creates the series of the configured receivers and integrations and
// deletes those of receivers no longer configured.
func (m *metrics) initFor(old, cur []Integration, receivers []string) {
	keep := map[[2]string]bool{}
	for _, in := range cur {
		keep[[2]string{in.Receiver, in.Kind}] = true
		m.notifications.WithLabelValues(in.Receiver, in.Kind)
		m.failed.WithLabelValues(in.Receiver, in.Kind)
	}
	for _, in := range old {
		if !keep[[2]string{in.Receiver, in.Kind}] {
			m.notifications.DeleteLabelValues(in.Receiver, in.Kind)
			m.failed.DeleteLabelValues(in.Receiver, in.Kind)
		}
	}
	for _, r := range receivers {
		m.dropped.WithLabelValues(r)
		m.outbox.WithLabelValues(r)
	}
}
