package auditlog

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// alerts collects alerts, safe for concurrent use.
type alerts struct {
	mu   sync.Mutex
	list []Alert
}

func (a *alerts) Alert(_ context.Context, al Alert) {
	a.mu.Lock()
	a.list = append(a.list, al)
	a.mu.Unlock()
}

func (a *alerts) all() []Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Alert(nil), a.list...)
}

// clientRequest is a request from the client with key c.
func clientRequest(c string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	return r.WithContext(WithRequestInfo(r.Context(), &RequestInfo{RequestID: "rid-" + c, Client: c}))
}

func TestSuppressionFlood(t *testing.T) {
	var buf bytes.Buffer
	clk := newClock()
	al := &alerts{}
	l := New(&buf, Options{Now: clk.Now, Alerter: al})
	r := clientRequest("attacker")
	const n = 10000
	for range n { // 10,000 identical attacks within one second
		l.Record(r, Event{Name: SecurityThreat, Reason: "alg_none", Status: 401})
		clk.Add(100 * time.Microsecond)
	}
	ls := lines(t, buf.Bytes())
	if len(ls) > 2 {
		t.Fatalf("%d lines for one flood in one window, want <= 2", len(ls))
	}
	if len(ls) != 1 || ls[0]["suppressed"] != nil {
		t.Fatalf("want the first attack written alone, got %v", ls)
	}
	if got := al.all(); len(got) != 1 || got[0].Suppressed != 0 || got[0].Client != "attacker" || got[0].Reason != "alg_none" || got[0].RequestID != "rid-attacker" {
		t.Fatalf("alerts = %+v", got)
	}

	// The next window: written again, with the count of what was kept out.
	clk.Add(DefaultSuppressWindow)
	buf.Reset()
	l.Record(r, Event{Name: SecurityThreat, Reason: "alg_none", Status: 401})
	m := only(t, buf.Bytes())
	if num(t, m, "suppressed") != n-1 {
		t.Errorf("suppressed = %v, want %d", m["suppressed"], n-1)
	}
	if m["suppressed_first"] != "2026-01-02T03:04:05.000Z" || m["suppressed_last"] != "2026-01-02T03:04:05.999Z" {
		t.Errorf("suppressed_first/last = %v / %v", m["suppressed_first"], m["suppressed_last"])
	}
	got := al.all()
	if len(got) != 2 || got[1].Suppressed != n-1 || got[1].Summary ||
		!got[1].First.Equal(t0.Add(100*time.Microsecond)) || !got[1].Last.Equal(t0.Add((n-1)*100*time.Microsecond)) {
		t.Errorf("second alert = %+v", got[len(got)-1])
	}
}

func TestSuppressionKeys(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Options{Now: newClock().Now})
	for range 3 {
		l.Record(clientRequest("a"), Event{Name: SecurityThreat, Reason: "alg_none"})
		l.Record(clientRequest("b"), Event{Name: SecurityThreat, Reason: "alg_none"})     // another client
		l.Record(clientRequest("a"), Event{Name: SecurityThreat, Reason: "embedded_jwk"}) // another reason
		l.Record(clientRequest("a"), Event{Name: RefreshReuse, Reason: "alg_none"})       // another event
		l.Record(clientRequest("a"), Event{Name: Lockout, Reason: "login_failures"})
		l.Record(clientRequest("a"), Event{Name: TokenRejected, Reason: "expired"}) // not a threat: never suppressed
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil) // no client key: keyed by IP
	r2 := httptest.NewRequest(http.MethodGet, "/", nil)
	r2.RemoteAddr = "198.51.100.9:1"
	for range 3 {
		l.Record(r, Event{Name: SecurityThreat, Reason: "alg_none"})
		l.Record(r2, Event{Name: SecurityThreat, Reason: "alg_none"})
	}
	count := map[string]int{}
	for _, m := range lines(t, buf.Bytes()) {
		count[m["event"].(string)]++
	}
	want := map[string]int{"security_threat": 5, "refresh_reuse": 1, "lockout": 1, "token_rejected": 3}
	for k, v := range want {
		if count[k] != v {
			t.Errorf("%s lines = %d, want %d (all: %v)", k, count[k], v, count)
		}
	}
}

func TestSuppressionSummaryWhenWindowEnds(t *testing.T) {
	var buf bytes.Buffer
	clk := newClock()
	al := &alerts{}
	l := New(&buf, Options{Now: clk.Now, Alerter: al, SuppressWindow: 10 * time.Second, IP: IPMasked})
	for range 5 {
		l.Record(clientRequest("a"), Event{Name: SecurityThreat, Reason: "bad_signature"})
	}
	l.Record(clientRequest("quiet"), Event{Name: Lockout, Reason: "login_failures"}) // no repeats: no summary
	clk.Add(10 * time.Second)
	buf.Reset()
	// Client a stopped; another client's event sweeps a's window away.
	l.Record(clientRequest("b"), Event{Name: SecurityThreat, Reason: "alg_none"})
	ls := lines(t, buf.Bytes())
	if len(ls) != 2 {
		t.Fatalf("want a summary and b's event, got %v", ls)
	}
	s := ls[0]
	if s["summary"] != true || s["client"] != "a" || s["reason"] != "bad_signature" || s["event"] != "security_threat" || num(t, s, "suppressed") != 4 || s["level"] != "warn" {
		t.Errorf("summary line = %v", s)
	}
	if ls[1]["client"] != "b" {
		t.Errorf("second line = %v", ls[1])
	}
	var summaries []Alert
	for _, a := range al.all() {
		if a.Summary {
			summaries = append(summaries, a)
		}
	}
	if len(summaries) != 1 || summaries[0].Suppressed != 4 || summaries[0].Client != "a" {
		t.Errorf("summary alerts = %+v", summaries)
	}
}

func TestFlush(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Options{Now: newClock().Now})
	for range 3 {
		l.Record(clientRequest("a"), Event{Name: RefreshReuse, Reason: "spent_token"})
	}
	buf.Reset()
	l.Flush()
	m := only(t, buf.Bytes())
	if m["summary"] != true || num(t, m, "suppressed") != 2 {
		t.Errorf("flush line = %v", m)
	}
	buf.Reset()
	l.Flush() // nothing pending any more
	if buf.Len() != 0 {
		t.Errorf("second flush wrote %s", buf.Bytes())
	}
	if l.sup.len() != 0 {
		t.Errorf("%d windows left after Flush", l.sup.len())
	}
}

func TestSuppressionDisabled(t *testing.T) {
	var buf bytes.Buffer
	al := &alerts{}
	l := New(&buf, Options{SuppressWindow: -1, Alerter: al})
	for range 10 {
		l.Record(clientRequest("a"), Event{Name: SecurityThreat, Reason: "alg_none"})
	}
	if n := len(lines(t, buf.Bytes())); n != 10 || len(al.all()) != 10 {
		t.Errorf("%d lines, %d alerts, want 10 each", n, len(al.all()))
	}
	l.Flush()
}

// TestSuppressionBounded rotates 100,000 client keys, each attacking twice:
// the windows tracked never exceed the cap, and no suppressed repeat goes
// unreported (evicted windows report theirs).
func TestSuppressionBounded(t *testing.T) {
	al := &alerts{}
	clk := newClock()
	const capKeys, clients = 1000, 100000
	l := New(io.Discard, Options{Now: clk.Now, Alerter: al, SuppressMaxKeys: capKeys})
	maxLen := 0
	base := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	for i := range clients {
		r := base.WithContext(WithRequestInfo(base.Context(), &RequestInfo{Client: strconv.Itoa(i)}))
		l.Record(r, Event{Name: SecurityThreat, Reason: "alg_none"})
		l.Record(r, Event{Name: SecurityThreat, Reason: "alg_none"}) // suppressed
		if i%1000 == 0 {
			maxLen = max(maxLen, l.sup.len())
		}
	}
	maxLen = max(maxLen, l.sup.len())
	if maxLen > capKeys {
		t.Errorf("%d windows tracked, cap %d", maxLen, capKeys)
	}
	l.Flush()
	reported := 0
	for _, a := range al.all() {
		reported += a.Suppressed
	}
	if reported != clients {
		t.Errorf("suppressed repeats reported: %d, want %d", reported, clients)
	}
	// The default cap holds too.
	l = New(io.Discard, Options{Now: clk.Now})
	for i := range clients {
		r := base.WithContext(WithRequestInfo(base.Context(), &RequestInfo{Client: strconv.Itoa(i)}))
		l.Record(r, Event{Name: Lockout, Reason: "login_failures"})
	}
	if n := l.sup.len(); n > DefaultSuppressMaxKeys {
		t.Errorf("%d windows tracked, default cap %d", n, DefaultSuppressMaxKeys)
	}
}

// TestSuppressionConcurrent checks that under concurrent floods every event
// is either written or counted in a reported "suppressed".
func TestSuppressionConcurrent(t *testing.T) {
	var buf bytes.Buffer
	clk := newClock()
	l := New(&buf, Options{Now: clk.Now, SuppressWindow: time.Second})
	var wg sync.WaitGroup
	const goroutines, each = 8, 500
	for g := range goroutines {
		wg.Go(func() {
			r := clientRequest(strconv.Itoa(g % 3))
			for i := range each {
				l.Record(r, Event{Name: SecurityThreat, Reason: "alg_none"})
				if i%100 == 0 {
					clk.Add(300 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	l.Flush()
	total := 0
	for _, m := range lines(t, buf.Bytes()) {
		if m["summary"] != true {
			total++
		}
		if m["suppressed"] != nil {
			total += int(num(t, m, "suppressed"))
		}
	}
	if total != goroutines*each {
		t.Errorf("accounted for %d events, recorded %d", total, goroutines*each)
	}
}

func TestAlertFields(t *testing.T) {
	tests := []struct {
		name       string
		mode       IPMode
		client     string
		wantIP     string
		wantClient string
	}{
		{"masked with key", IPMasked, "k1", "192.0.2.0/24", "k1"},
		{"masked without key", IPMasked, "", "192.0.2.0/24", "192.0.2.0/24"},
		{"none without key", IPNone, "", "", ""},
		{"full", IPFull, "k1", "192.0.2.1", "k1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			var got []Alert
			var ctxErr error
			l := New(&buf, Options{IP: tt.mode, Alerter: AlerterFunc(func(ctx context.Context, a Alert) {
				ctxErr = ctx.Err()
				got = append(got, a)
			})})
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // the request is over; an async alerter must still get a live context
			r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/x", nil)
			r = r.WithContext(WithRequestInfo(r.Context(), &RequestInfo{RequestID: "rid", Client: tt.client, Sub: "alice"}))
			l.Record(r, Event{Name: SecurityThreat, Reason: "alg_mismatch"})
			if len(got) != 1 {
				t.Fatalf("%d alerts", len(got))
			}
			a := got[0]
			if a.IP != tt.wantIP || a.Client != tt.wantClient || a.Sub != "alice" || a.RequestID != "rid" || a.Event != SecurityThreat || a.Reason != "alg_mismatch" {
				t.Errorf("alert = %+v", a)
			}
			if ctxErr != nil {
				t.Errorf("alert context is canceled: %v", ctxErr)
			}
			if tt.mode != IPFull && strings.Contains(buf.String(), "192.0.2.1") {
				t.Errorf("full IP written in mode %v: %s", tt.mode, buf.Bytes())
			}
		})
	}
}
