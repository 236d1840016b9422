package auditlog

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"
)

func BenchmarkRecord(b *testing.B) {
	r := authedRequest()
	e := Event{Name: TokenRejected, Reason: "expired", KID: "k1", Token: TokenID(fakeJWT), Status: 401, Detail: "token expired"}
	// The Counter's own cost is measured in auditlog/prom; this one only
	// shows what the label bound adds.
	var n atomic.Int64
	m := CounterFunc(func(string, string) { n.Add(1) })
	cases := []struct {
		name string
		o    Options
		e    Event
	}{
		{"enabled", Options{}, e},
		{"disabled", Options{Level: zerolog.Disabled}, e},
		{"disabled+counter", Options{Level: zerolog.Disabled, Counter: m}, e},
		{"enabled+counter", Options{Counter: m}, e},
		{"threat_suppressed", Options{}, Event{Name: SecurityThreat, Reason: "alg_none", Status: 401}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			l := New(io.Discard, c.o)
			b.ReportAllocs()
			for b.Loop() {
				l.Record(r, c.e)
			}
		})
	}
}

func BenchmarkRequestLogger(b *testing.B) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	logged, _ := NewRequestLogger(New(io.Discard, Options{}), RequestLogOptions{})
	idOnly, _ := NewRequestLogger(nil, RequestLogOptions{})
	cases := []struct {
		name string
		h    http.Handler
		id   string
	}{
		{"bare", ok, ""},
		{"id_only", idOnly.Handler(ok), ""},
		{"logged/incoming_id", logged.Handler(ok), "rid-12345"},
		{"logged/new_id", logged.Handler(ok), ""},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/api/me?q=1", nil)
			if c.id != "" {
				r.Header.Set("X-Request-ID", c.id)
			}
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				c.h.ServeHTTP(w, r)
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the middleware rather than a recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}
