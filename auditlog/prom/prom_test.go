package prom

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"
)

func newCounter(t *testing.T) *Counter {
	t.Helper()
	c, err := NewCounter(prometheus.NewPedanticRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCounterThroughLogger checks the series a Logger produces, client
// garbage included.
func TestCounterThroughLogger(t *testing.T) {
	c := newCounter(t)
	var buf bytes.Buffer
	// Level disabled and suppression on: counting must not depend on either.
	l := auditlog.New(&buf, auditlog.Options{Counter: c, Level: zerolog.Disabled})
	for range 100 {
		l.Record(nil, auditlog.Event{Name: auditlog.SecurityThreat, Reason: "alg_none"})
	}
	l.Record(nil, auditlog.Event{Name: auditlog.TokenRejected, Reason: "expired"})
	l.Record(nil, auditlog.Event{Name: auditlog.TokenRejected, Reason: "expired"})
	l.Record(nil, auditlog.Event{Name: auditlog.LoginSuccess})
	l.Record(nil, auditlog.Event{Name: "made_up"})
	l.Record(nil, auditlog.Event{Name: auditlog.TokenRejected, Reason: "Bad Reason\r\n"})
	l.Record(nil, auditlog.Event{Name: auditlog.TokenRejected, Reason: strings.Repeat("a", 65)})

	tests := []struct {
		event, reason string
		want          float64
	}{
		{"security_threat", "alg_none", 100},
		{"token_rejected", "expired", 2},
		{"login_success", auditlog.NoReasonLabel, 1},
		{auditlog.OtherLabel, auditlog.NoReasonLabel, 1},
		{"token_rejected", auditlog.OtherLabel, 2},
	}
	for _, tt := range tests {
		t.Run(tt.event+"/"+tt.reason, func(t *testing.T) {
			if got := value(t, c.events.WithLabelValues(tt.event, tt.reason)); got != tt.want {
				t.Errorf("apiguard_events_total{event=%q,reason=%q} = %v, want %v", tt.event, tt.reason, got, tt.want)
			}
		})
	}
	if n := series(t, c); n != len(tests) {
		t.Errorf("%d series, want %d", n, len(tests))
	}
	if buf.Len() != 0 {
		t.Errorf("disabled level wrote %s", buf.Bytes())
	}
}

// TestCounterReasonCap proves the cardinality bound end to end: ten times
// MaxReasonLabels distinct reasons make MaxReasonLabels series plus "other",
// and the cache of counters stays bounded.
func TestCounterReasonCap(t *testing.T) {
	c := newCounter(t)
	l := auditlog.New(nil, auditlog.Options{Counter: c})
	for i := range 10 * auditlog.MaxReasonLabels {
		l.Record(nil, auditlog.Event{Name: auditlog.TokenRejected, Reason: "r" + strconv.Itoa(i)})
	}
	if n := series(t, c); n != auditlog.MaxReasonLabels+1 {
		t.Errorf("%d series, want %d (cap + other)", n, auditlog.MaxReasonLabels+1)
	}
	if got := value(t, c.events.WithLabelValues("token_rejected", auditlog.OtherLabel)); got != 9*auditlog.MaxReasonLabels {
		t.Errorf("other = %v, want %d", got, 9*auditlog.MaxReasonLabels)
	}
	if len(*c.cached.Load()) > auditlog.MaxReasonLabels+1 {
		t.Errorf("counter cache grew to %d", len(*c.cached.Load()))
	}
}

// TestCounterCacheBound checks that Inc called directly, without a Logger's
// bound, still keeps its cache within maxCached.
func TestCounterCacheBound(t *testing.T) {
	c := newCounter(t)
	for i := range maxCached + 100 {
		c.Inc("e", "r"+strconv.Itoa(i))
	}
	if len(*c.cached.Load()) != maxCached {
		t.Errorf("cache holds %d, want %d", len(*c.cached.Load()), maxCached)
	}
	c.Inc("e", "r"+strconv.Itoa(maxCached+1)) // beyond the cache: still counted
	if got := value(t, c.events.WithLabelValues("e", "r"+strconv.Itoa(maxCached+1))); got != 2 {
		t.Errorf("uncached pair = %v, want 2", got)
	}
}

func TestNewCounter(t *testing.T) {
	conflicting := prometheus.NewRegistry()
	conflicting.MustRegister(prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "apiguard_events_total", Help: "x"}, []string{"event", "reason"}))
	tests := []struct {
		name    string
		reg     prometheus.Registerer
		wantErr string
	}{
		{"nil registerer", nil, "Registerer is nil"},
		{"conflicting collector", conflicting, "apiguard_events_total"},
		{"fresh registry", prometheus.NewRegistry(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCounter(tt.reg)
			switch {
			case tt.wantErr == "" && (err != nil || c == nil):
				t.Fatalf("NewCounter: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("NewCounter error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}

	t.Run("same registry shares the collector", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		c1, err := NewCounter(reg)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := NewCounter(reg)
		if err != nil {
			t.Fatal(err)
		}
		c1.Inc("login_success", "none")
		c2.Inc("login_success", "none")
		if got := value(t, c1.events.WithLabelValues("login_success", "none")); got != 2 {
			t.Errorf("shared counter = %v, want 2", got)
		}
	})
	t.Run("nil counter", func(t *testing.T) {
		var c *Counter
		c.Inc("login_success", "none") // no-op
		auditlog.New(nil, auditlog.Options{Counter: c}).Record(nil, auditlog.Event{Name: auditlog.LoginSuccess})
	})
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

// series returns the number of series of c, and checks that every one is a
// counter named apiguard_events_total with exactly the labels event and
// reason.
func series(t *testing.T, c *Counter) int {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c.events)
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

func BenchmarkInc(b *testing.B) {
	c, err := NewCounter(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	l := auditlog.New(nil, auditlog.Options{Counter: c}) // writes nothing, counts
	e := auditlog.Event{Name: auditlog.TokenRejected, Reason: "expired"}
	cases := []struct {
		name string
		run  func()
	}{
		{"direct", func() { c.Inc("token_rejected", "expired") }},
		{"through_logger", func() { l.Record(nil, e) }},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tc.run()
			}
		})
	}
}
