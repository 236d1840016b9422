package auditlog

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"
)

func TestMetricsCounts(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	// Level disabled and suppression on: counting must not depend on either.
	l := New(&buf, Options{Metrics: m, Level: zerolog.Disabled})
	for range 100 {
		l.Record(clientRequest("a"), Event{Name: SecurityThreat, Reason: "alg_none"})
	}
	l.Record(nil, Event{Name: TokenRejected, Reason: "expired"})
	l.Record(nil, Event{Name: TokenRejected, Reason: "expired"})
	l.Record(nil, Event{Name: LoginSuccess})
	l.Record(nil, Event{Name: "made_up"})
	l.Record(nil, Event{Name: TokenRejected, Reason: "Bad Reason\r\n"})
	l.Record(nil, Event{Name: TokenRejected, Reason: strings.Repeat("a", 65)})

	tests := []struct {
		event, reason string
		want          float64
	}{
		{"security_threat", "alg_none", 100},
		{"token_rejected", "expired", 2},
		{"login_success", NoReasonLabel, 1},
		{OtherLabel, NoReasonLabel, 1},
		{"token_rejected", OtherLabel, 2},
	}
	for _, tt := range tests {
		if got := value(t, m.events.WithLabelValues(tt.event, tt.reason)); got != tt.want {
			t.Errorf("apiguard_events_total{event=%q,reason=%q} = %v, want %v", tt.event, tt.reason, got, tt.want)
		}
	}
	if n := series(t, m); n != len(tests) {
		t.Errorf("%d series, want %d", n, len(tests))
	}
	if buf.Len() != 0 {
		t.Errorf("disabled level wrote %s", buf.Bytes())
	}
}

func TestMetricsReasonCap(t *testing.T) {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	l := New(nil, Options{Metrics: m})
	for i := range 10 * MaxReasonLabels {
		l.Record(nil, Event{Name: TokenRejected, Reason: "r" + strconv.Itoa(i)})
	}
	if n := series(t, m); n != MaxReasonLabels+1 {
		t.Errorf("%d series, want %d (cap + other)", n, MaxReasonLabels+1)
	}
	if got := value(t, m.events.WithLabelValues("token_rejected", OtherLabel)); got != 9*MaxReasonLabels {
		t.Errorf("other = %v", got)
	}
	if len(m.counters) > MaxReasonLabels {
		t.Errorf("counter cache grew to %d", len(m.counters))
	}
}

func TestNewMetrics(t *testing.T) {
	if _, err := NewMetrics(nil); err == nil || !strings.Contains(err.Error(), "Registerer") {
		t.Errorf("nil registerer: %v", err)
	}
	reg := prometheus.NewRegistry()
	m1, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := NewMetrics(reg) // same registry: the collector is shared
	if err != nil {
		t.Fatal(err)
	}
	m1.count(LoginSuccess, "")
	m2.count(LoginSuccess, "")
	if got := value(t, m1.events.WithLabelValues("login_success", "none")); got != 2 {
		t.Errorf("shared counter = %v", got)
	}
	other := prometheus.NewRegistry()
	other.MustRegister(prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "apiguard_events_total", Help: "x"}, []string{"event", "reason"}))
	if _, err := NewMetrics(other); err == nil {
		t.Error("a conflicting collector was accepted")
	}
	var nilM *Metrics
	nilM.count(LoginSuccess, "") // no-op
}

// The helpers below read counters without prometheus/testutil, whose
// dependencies are not in the module's go.sum.

// value returns the value of counter c.
func value(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var d dto.Metric
	if err := c.Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetCounter().GetValue()
}

// series returns the number of series of m, and checks that every one is a
// counter named apiguard_events_total with exactly the labels event and
// reason.
func series(t *testing.T, m *Metrics) int {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m.events)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range fams {
		if f.GetName() != "apiguard_events_total" || f.GetType() != dto.MetricType_COUNTER {
			t.Errorf("unexpected family %s %v", f.GetName(), f.GetType())
		}
		for _, mt := range f.GetMetric() {
			if ls := mt.GetLabel(); len(ls) != 2 || ls[0].GetName() != "event" || ls[1].GetName() != "reason" {
				t.Errorf("labels %v", ls)
			}
			n++
		}
	}
	return n
}
