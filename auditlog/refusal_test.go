package auditlog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/reqctx"
)

// forgedTokenHandler is what the token gate does with a forged token: a
// token_rejected event, then a 401.
func forgedTokenHandler(l *Logger) http.Handler {
	return MustNewRequestLogger(l, RequestLogOptions{}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info, ok := reqctx.From(r.Context()); ok {
			info.Client = r.Header.Get("Test-Client") // what the identity step resolves
		}
		l.Record(r, Event{Name: TokenRejected, Reason: "bad_signature", Status: http.StatusUnauthorized})
		w.WriteHeader(http.StatusUnauthorized)
	}))
}

// tally accounts for every event behind a log: per event name, the lines
// written for one event (not summaries), and the events only counted (the
// "suppressed" of lines and summaries, and the counts of log_suppressed
// lines).
type tally struct {
	written, counted map[string]int
	floods           []time.Time // the times of the log_suppressed lines
}

func tallyLog(t *testing.T, b []byte) tally {
	t.Helper()
	tl := tally{written: map[string]int{}, counted: map[string]int{}}
	for _, m := range lines(t, b) {
		ev, _ := m["event"].(string)
		if ev == string(LogSuppressed) {
			counts, _ := m["counts"].(map[string]any)
			sum := 0
			for k, v := range counts {
				n, _ := v.(json.Number).Int64()
				tl.counted[k] += int(n)
				sum += int(n)
			}
			if int64(sum) != num(t, m, "suppressed") {
				t.Errorf("log_suppressed counts %v add up to %d, suppressed = %v", counts, sum, m["suppressed"])
			}
			ts, err := time.Parse(time.RFC3339, m["time"].(string))
			if err != nil {
				t.Fatal(err)
			}
			tl.floods = append(tl.floods, ts)
			continue
		}
		if m["summary"] != true {
			tl.written[ev]++
		}
		if m["suppressed"] != nil {
			tl.counted[ev] += int(num(t, m, "suppressed"))
		}
	}
	return tl
}

func (tl tally) total(ev EventName) int { return tl.written[string(ev)] + tl.counted[string(ev)] }

// TestRefusalFlood floods the token gate with forged tokens: 10,000
// requests, each a token_rejected event and a 401 access line. The lines
// stay within the documented bound, and every request is accounted for
// exactly, written or counted.
func TestRefusalFlood(t *testing.T) {
	const n = 10000
	tests := []struct {
		name   string
		client func(i int) string
		step   time.Duration // between two requests
		// maxLines is the documented bound for this flood.
		maxLines int
	}{
		{
			// One client, one reason, 50s: per key (the event, the
			// access line) RefusalBurst lines and one summary.
			name:     "one client",
			client:   func(int) string { return "attacker" },
			step:     5 * time.Millisecond,
			maxLines: 2 * (DefaultRefusalBurst + 1),
		},
		{
			// 10,000 clients (rotated User-Agents), 10s: the ceiling,
			// RefusalCeiling a second with a burst of as many, plus one
			// log_suppressed line a second and the one Flush writes.
			name:     "10,000 clients",
			client:   strconv.Itoa,
			step:     time.Millisecond,
			maxLines: DefaultRefusalCeiling*(10+1) + (10 + 1) + 1,
		},
		{
			// 1,000 clients of 10 requests each, 20s: per-key summaries
			// too, all under the ceiling.
			name:     "1,000 clients x 10",
			client:   func(i int) string { return strconv.Itoa(i % 1000) },
			step:     2 * time.Millisecond,
			maxLines: DefaultRefusalCeiling*(20+1) + (20 + 1) + 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			clk := newClock()
			l := New(&buf, Options{Now: clk.Now})
			h := forgedTokenHandler(l)
			for i := range n {
				r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
				r.Header.Set("Test-Client", tt.client(i))
				h.ServeHTTP(httptest.NewRecorder(), r)
				clk.Add(tt.step)
			}
			l.Flush()
			got := len(lines(t, buf.Bytes()))
			t.Logf("%d requests: %d lines (%d bytes), bound %d", n, got, buf.Len(), tt.maxLines)
			if got > tt.maxLines {
				t.Errorf("%d lines for %d refused requests, want <= %d", got, n, tt.maxLines)
			}
			tl := tallyLog(t, buf.Bytes())
			for _, ev := range []EventName{TokenRejected, Request} {
				if tl.total(ev) != n {
					t.Errorf("%s: %d written + %d counted = %d, want %d", ev, tl.written[string(ev)], tl.counted[string(ev)], tl.total(ev), n)
				}
			}
			for i := 1; i < len(tl.floods); i++ {
				if d := tl.floods[i].Sub(tl.floods[i-1]); d < time.Second && i < len(tl.floods)-1 {
					t.Errorf("log_suppressed lines %v apart", d) // the last one is Flush's
				}
			}
		})
	}
}

// TestRefusalSuccessesNeverSuppressed spends one client's budget and the
// ceiling with refusals, then sends that client's successes: every one is
// written. Threat events keep their own rule (one line per window); refusals
// are only counted.
func TestRefusalSuccessesNeverSuppressed(t *testing.T) {
	const n = 1000
	tests := []struct {
		name   string
		e      Event // recorded n times, if Name is set
		status int   // else: the status of n requests' access lines
		want   int   // lines for them
	}{
		{"login_success", Event{Name: LoginSuccess, Status: 200}, 0, n},
		{"token_issued", Event{Name: TokenIssued}, 0, n},
		{"token_refresh ok", Event{Name: TokenRefresh, Status: 200}, 0, n},
		{"token_revoked", Event{Name: TokenRevoked, Reason: "logout", Status: 204}, 0, n},
		{"store_unavailable", Event{Name: StoreUnavailable, Reason: "store_error", Status: 503}, 0, n},
		{"access 200", Event{}, 200, n},
		{"access 204", Event{}, 204, n},
		{"access 302", Event{}, 302, n},
		{"access 500", Event{}, 500, n},
		{"security_threat", Event{Name: SecurityThreat, Reason: "alg_none", Status: 401}, 0, 1},
		// The line is drawn here: these are refusals.
		{"token_refresh refused", Event{Name: TokenRefresh, Reason: "invalid_grant", Status: 400}, 0, 0},
		{"access 404", Event{}, 404, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			clk := newClock()
			l := New(&buf, Options{Now: clk.Now})
			h := forgedTokenHandler(l)
			for i := range 2 * DefaultRefusalCeiling { // the attacker's budget and the ceiling spent
				r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
				r.Header.Set("Test-Client", "attacker")
				if i%2 == 1 {
					r.Header.Set("Test-Client", strconv.Itoa(i))
				}
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
			ok := MustNewRequestLogger(l, RequestLogOptions{}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if info, ok := reqctx.From(r.Context()); ok {
					info.Client = "attacker"
				}
				w.WriteHeader(tt.status)
			}))
			buf.Reset()
			for range n {
				if tt.e.Name != "" {
					l.Record(clientRequest("attacker"), tt.e)
				} else {
					ok.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/me", nil))
				}
			}
			written := 0
			for _, m := range lines(t, buf.Bytes()) {
				if m["summary"] != true && m["event"] != string(LogSuppressed) {
					written++
				}
			}
			if written != tt.want {
				t.Errorf("%d of %d lines written, want %d", written, n, tt.want)
			}
		})
	}
}

// TestRefusalPanicNotAggregated: a handler that panics after a 4xx is a bug,
// and every one of its access lines is written.
func TestRefusalPanicNotAggregated(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Options{Now: newClock().Now})
	h := MustNewRequestLogger(l, RequestLogOptions{}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		panic("bug")
	}))
	const n = 50
	for range n {
		func() {
			defer func() { _ = recover() }()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
		}()
	}
	ls := lines(t, buf.Bytes())
	if len(ls) != n || ls[n-1]["panic"] != true {
		t.Errorf("%d lines for %d panics, want each", len(ls), n)
	}
}

// TestRefusalKeysBounded rotates 1,000 clients, each refused 7 times: the
// windows tracked never exceed RefusalMaxKeys, and each evicted window writes
// its pending count.
func TestRefusalKeysBounded(t *testing.T) {
	var buf bytes.Buffer
	const capKeys, clients, each = 100, 1000, DefaultRefusalBurst + 2
	l := New(&buf, Options{Now: newClock().Now, RefusalMaxKeys: capKeys, RefusalCeiling: -1})
	maxLen := 0
	for i := range clients {
		r := clientRequest(strconv.Itoa(i))
		for range each {
			l.Record(r, Event{Name: TokenRejected, Reason: "expired", Status: 401})
		}
		maxLen = max(maxLen, l.ref.len())
	}
	if maxLen > capKeys {
		t.Errorf("%d windows tracked, cap %d", maxLen, capKeys)
	}
	summariesBeforeFlush := 0
	for _, m := range lines(t, buf.Bytes()) {
		if m["summary"] == true {
			summariesBeforeFlush++
		}
	}
	if want := clients - capKeys; summariesBeforeFlush != want {
		t.Errorf("%d summaries from evictions, want %d", summariesBeforeFlush, want)
	}
	l.Flush()
	if l.ref.len() != 0 {
		t.Errorf("%d windows left after Flush", l.ref.len())
	}
	tl := tallyLog(t, buf.Bytes())
	if tl.written["token_rejected"] != clients*DefaultRefusalBurst || tl.total(TokenRejected) != clients*each {
		t.Errorf("written %d, counted %d; want %d written of %d", tl.written["token_rejected"], tl.counted["token_rejected"], clients*DefaultRefusalBurst, clients*each)
	}
}

// TestRefusalWindow checks the per-key rule alone: RefusalBurst lines per
// window, then the first line of the next window carries the count; keys
// differ by event, reason, client and (access lines) status.
func TestRefusalWindow(t *testing.T) {
	var buf bytes.Buffer
	clk := newClock()
	l := New(&buf, Options{Now: clk.Now, RefusalWindow: 10 * time.Second, RefusalBurst: 2, RefusalCeiling: -1})
	for range 5 {
		l.Record(clientRequest("a"), Event{Name: TokenRejected, Reason: "expired"})
		l.Record(clientRequest("a"), Event{Name: TokenRejected, Reason: "bad_signature"}) // another reason
		l.Record(clientRequest("b"), Event{Name: TokenRejected, Reason: "expired"})       // another client
		l.Record(clientRequest("a"), Event{Name: RateLimited, Reason: "expired"})         // another event
		clk.Add(time.Millisecond)
	}
	if got := len(lines(t, buf.Bytes())); got != 4*2 {
		t.Errorf("%d lines, want 2 per key", got)
	}
	clk.Add(10 * time.Second)
	buf.Reset()
	l.Record(clientRequest("a"), Event{Name: TokenRejected, Reason: "expired"})
	ls := lines(t, buf.Bytes())
	// The three other keys' windows were swept: their summaries first.
	if len(ls) != 4 {
		t.Fatalf("want 3 summaries and the event, got %v", ls)
	}
	m := ls[3]
	if m["summary"] != nil || num(t, m, "suppressed") != 3 || m["client"] != "a" ||
		m["suppressed_first"] != "2026-01-02T03:04:05.002Z" || m["suppressed_last"] != "2026-01-02T03:04:05.004Z" {
		t.Errorf("carrying line = %v", m)
	}
	for _, s := range ls[:3] {
		if s["summary"] != true || num(t, s, "suppressed") != 3 || s["level"] != "info" {
			t.Errorf("summary = %v", s)
		}
	}
}

// TestRefusalAccessSummary checks the summary of refused access lines: per
// client and status, with the status on it.
func TestRefusalAccessSummary(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Options{Now: newClock().Now, IP: IPNone})
	for _, status := range []int{401, 403, 429} {
		h := MustNewRequestLogger(l, RequestLogOptions{}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
		}))
		for range DefaultRefusalBurst + 3 {
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil))
		}
	}
	buf.Reset()
	l.Flush()
	ls := lines(t, buf.Bytes())
	if len(ls) != 3 {
		t.Fatalf("want a summary per status, got %v", ls)
	}
	for i, status := range []int{401, 403, 429} {
		m := ls[i]
		if m["event"] != "request" || num(t, m, "status") != int64(status) || num(t, m, "suppressed") != 3 || m["summary"] != true || m["client"] != nil {
			t.Errorf("summary %d = %v", i, m)
		}
	}
}

// TestRefusalKeylessClients: before a client key is resolved, a client is
// its IP as Options.IP writes it, so masking merges a network.
func TestRefusalKeylessClients(t *testing.T) {
	tests := []struct {
		mode        IPMode
		wantLines   int
		wantClients []any // of the Flush summaries
	}{
		{IPFull, 2 * 2, []any{"192.0.2.1", "192.0.2.2"}},
		{IPMasked, 2, []any{"192.0.2.0/24"}},
		{IPNone, 2, []any{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			var buf bytes.Buffer
			l := New(&buf, Options{Now: newClock().Now, IP: tt.mode, RefusalBurst: 2, RefusalCeiling: -1})
			for _, ip := range []string{"192.0.2.1:1", "192.0.2.2:1"} {
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				r.RemoteAddr = ip
				for range 5 {
					l.Record(r, Event{Name: RateLimited, Reason: "limit"})
				}
			}
			if got := len(lines(t, buf.Bytes())); got != tt.wantLines {
				t.Errorf("%d lines, want %d", got, tt.wantLines)
			}
			buf.Reset()
			l.Flush()
			var clients []any
			for _, m := range lines(t, buf.Bytes()) {
				clients = append(clients, m["client"])
			}
			if fmt.Sprint(clients) != fmt.Sprint(tt.wantClients) {
				t.Errorf("summary clients %v, want %v", clients, tt.wantClients)
			}
		})
	}
}

func TestCeiling(t *testing.T) {
	type step struct {
		at    time.Duration // after t0
		lines int           // asked for
		want  int           // allowed
	}
	tests := []struct {
		name  string
		rate  int
		steps []step
	}{
		{"burst then refill", 10, []step{{0, 15, 10}, {50 * time.Millisecond, 1, 0}, {100 * time.Millisecond, 2, 1}, {1100 * time.Millisecond, 20, 10}}},
		{"sustained at the rate", 100, []step{{0, 100, 100}, {time.Second, 100, 100}, {2 * time.Second, 101, 100}}},
		{"clock going back", 10, []step{{time.Second, 10, 10}, {0, 1, 0}, {2 * time.Second, 10, 10}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCeiling(tt.rate)
			denied := 0
			for _, s := range tt.steps {
				now := t0.Add(s.at)
				got := 0
				for range s.lines {
					if c.allow(now, kindRequest, 1, now, now) {
						got++
					}
				}
				if got != s.want {
					t.Errorf("at +%v: %d of %d allowed, want %d", s.at, got, s.lines, s.want)
				}
				denied += s.lines - got
			}
			f, ok := c.due(t0.Add(time.Hour), false)
			if !ok || f.total != denied || f.counts[kindRequest] != denied {
				t.Errorf("due = %+v, %v; want %d denied", f, ok, denied)
			}
			if _, ok := c.due(t0.Add(time.Hour), true); ok {
				t.Error("due twice")
			}
		})
	}
}

// TestRefusalLogSuppressedOncePerSecond floods past the ceiling for 3.5s:
// one log_suppressed line a second, not one per refusal.
func TestRefusalLogSuppressedOncePerSecond(t *testing.T) {
	var buf bytes.Buffer
	clk := newClock()
	l := New(&buf, Options{Now: clk.Now, RefusalWindow: -1, RefusalCeiling: 10})
	for range 3500 {
		l.Record(clientRequest("a"), Event{Name: CORSRejected, Reason: "origin"})
		clk.Add(time.Millisecond)
	}
	tl := tallyLog(t, buf.Bytes())
	if len(tl.floods) != 4 { // at 0s, 1s, 2s, 3s
		t.Errorf("%d log_suppressed lines, want 4: %v", len(tl.floods), tl.floods)
	}
	l.Flush()
	tl = tallyLog(t, buf.Bytes())
	if tl.total(CORSRejected) != 3500 || tl.written["cors_rejected"] > 10*(4+1) {
		t.Errorf("written %d, counted %d of 3500", tl.written["cors_rejected"], tl.counted["cors_rejected"])
	}
}

func TestRefusalAggregationOff(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want int
	}{
		{"defaults", Options{}, DefaultRefusalBurst},
		{"window off", Options{RefusalWindow: -1, RefusalCeiling: -1}, 1000},
		{"burst off", Options{RefusalBurst: -1, RefusalCeiling: -1}, 1000},
		{"ceiling only", Options{RefusalWindow: -1, RefusalCeiling: 50}, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.o.Now = newClock().Now
			l := New(&buf, tt.o)
			for range 1000 {
				l.Record(clientRequest("a"), Event{Name: LoginFailure, Reason: "bad_credentials"})
			}
			if got := tallyLog(t, buf.Bytes()).written["login_failure"]; got != tt.want {
				t.Errorf("%d lines, want %d", got, tt.want)
			}
		})
	}
}

// TestRefusalConcurrent floods from many goroutines, clients and the clock
// moving: every event and access line is accounted for exactly.
func TestRefusalConcurrent(t *testing.T) {
	var buf bytes.Buffer
	clk := newClock()
	l := New(&buf, Options{Now: clk.Now, RefusalWindow: time.Second, RefusalMaxKeys: 50, RefusalCeiling: 200})
	h := forgedTokenHandler(l)
	const goroutines, each = 8, 1000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
				r.Header.Set("Test-Client", strconv.Itoa((g*each+i)%97))
				h.ServeHTTP(httptest.NewRecorder(), r)
				if i%50 == 0 {
					clk.Add(100 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	l.Flush()
	tl := tallyLog(t, buf.Bytes())
	for _, ev := range []EventName{TokenRejected, Request} {
		if tl.total(ev) != goroutines*each {
			t.Errorf("%s: accounted for %d, recorded %d", ev, tl.total(ev), goroutines*each)
		}
	}
}
