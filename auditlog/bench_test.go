package auditlog

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apiguard/apiguard/internal/reqctx"
	"github.com/rs/zerolog"
)

func BenchmarkRecord(b *testing.B) {
	r := authedRequest()
	e := Event{Name: TokenRejected, Reason: "expired", KID: "k1", Token: TokenID(fakeJWT), Status: 401, Detail: "token expired"}
	// The Counter's own cost is measured in auditlog/prom; this one only
	// shows what the label bound adds.
	var n atomic.Int64
	m := CounterFunc(func(string, string) { n.Add(1) })
	// off is what every refusal cost before refusals were aggregated: the
	// line written, nothing else.
	off := Options{RefusalWindow: -1, RefusalCeiling: -1}
	// written goes through both aggregation steps but never reaches a
	// budget: the cost they add to a line that is written.
	written := Options{RefusalBurst: math.MaxInt, RefusalCeiling: 1e9}
	cases := []struct {
		name string
		o    Options
		e    Event
	}{
		{"enabled", off, e},
		{"disabled", Options{Level: zerolog.Disabled}, e},
		{"disabled+counter", Options{Level: zerolog.Disabled, Counter: m}, e},
		{"enabled+counter", Options{Counter: m, RefusalWindow: -1, RefusalCeiling: -1}, e},
		{"threat_suppressed", Options{}, Event{Name: SecurityThreat, Reason: "alg_none", Status: 401}},
		{"refusal/aggregation_off", off, e},
		{"refusal/written", written, e},
		{"refusal/keyless/aggregation_off", off, e}, // r replaced below: no client key
		{"refusal/keyless/written", written, e},
		{"refusal/suppressed", Options{}, e}, // one client's flood: past its budget
		{"refusal/ceiling", Options{RefusalWindow: -1, RefusalCeiling: 1}, e},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			l := New(io.Discard, c.o)
			r := r
			if strings.Contains(c.name, "keyless") {
				r = httptest.NewRequest(http.MethodGet, "/api/me", nil)
			}
			b.ReportAllocs()
			for b.Loop() {
				l.Record(r, c.e)
			}
		})
	}
}

func BenchmarkRequestLogger(b *testing.B) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	refused := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info, ok := reqctx.From(r.Context()); ok {
			info.Client = "c0ffee01"
		}
		w.WriteHeader(http.StatusUnauthorized)
	})
	// Before the identity step has resolved a client key, a client is its IP.
	refusedKeyless := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusForbidden) })
	logged, _ := NewRequestLogger(New(io.Discard, Options{}), RequestLogOptions{})
	off, _ := NewRequestLogger(New(io.Discard, Options{RefusalWindow: -1, RefusalCeiling: -1}), RequestLogOptions{})
	written, _ := NewRequestLogger(New(io.Discard, Options{RefusalBurst: math.MaxInt, RefusalCeiling: 1e9}), RequestLogOptions{})
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
		{"refused/aggregation_off", off.Handler(refused), "rid-12345"},
		{"refused/written", written.Handler(refused), "rid-12345"},
		{"refused/suppressed", logged.Handler(refused), "rid-12345"},
		{"refused/keyless/aggregation_off", off.Handler(refusedKeyless), "rid-12345"},
		{"refused/keyless/written", written.Handler(refusedKeyless), "rid-12345"},
		{"refused/keyless/suppressed", logged.Handler(refusedKeyless), "rid-12345"},
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
