package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// floodUAs sends n requests from remote, each with a new User-Agent (so each
// is a new client), through h, and returns how many were allowed.
func floodUAs(h http.Handler, remote string, n int) int {
	allowed := 0
	for i := range n {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newReq(remote, "agent/"+strconv.Itoa(i)))
		if rec.Code == http.StatusOK {
			allowed++
		}
	}
	return allowed
}

// One IP rotating its User-Agent makes a new client at each request; the IP
// ceiling stops it at exactly the ceiling's budget (the clock is fixed, so
// nothing refills), whatever the ceiling's configuration. Removing the
// ceiling lets all 10,000 through, which the default case refuses.
func TestIPCeilingRotatingUserAgents(t *testing.T) {
	per := Limit{Rate: 100, Period: time.Minute}
	tests := []struct {
		name       string
		ipLimit    Limit
		ipMultiple int
		identity   bool // an Identifier Handler runs first
		want       int
	}{
		{"default: 10 x the client budget", Limit{}, 0, false, 1000},
		{"default, identity from the context", Limit{}, 0, true, 1000},
		{"multiple", Limit{}, 3, false, 300},
		{"explicit ceiling", Limit{Rate: 50, Period: time.Minute}, 0, true, 50},
		{"explicit burst", Limit{Rate: 500, Period: time.Minute, Burst: 70}, 0, false, 70},
		{"turned off", Limit{}, -1, false, 10_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t0}
			id := mustIdentifier(t, IdentityConfig{})
			l := newLimiter(t, Config{Limit: per, IPLimit: tt.ipLimit, IPMultiple: tt.ipMultiple, Identifier: id, Now: clk.Now})
			h := l.Handler(okHandler)
			if tt.identity {
				h = id.Handler(h)
			}
			if got := floodUAs(h, "192.0.2.1:1234", 10_000); got != tt.want {
				t.Fatalf("one IP rotating 10,000 User-Agents: %d allowed, want %d", got, tt.want)
			}
		})
	}
}

// The ceiling is per IP group: other addresses keep their budgets, an IPv6
// /64 is one group, another /64 is not, and the ceiling refills at its rate.
func TestIPCeilingPerGroup(t *testing.T) {
	clk := &clock{t0}
	l := newLimiter(t, Config{Limit: Limit{Rate: 2, Period: time.Minute}, Now: clk.Now}) // ceiling 20/1m
	h := l.Handler(okHandler)
	serve := func(remote, ua string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newReq(remote, ua))
		return rec.Code
	}
	if got := floodUAs(h, "192.0.2.1:1", 100); got != 20 {
		t.Fatalf("flood from 192.0.2.1: %d allowed, want 20", got)
	}
	if got := floodUAs(h, "[2001:db8:1:2::1]:1", 100); got != 20 {
		t.Fatalf("flood from 2001:db8:1:2::1: %d allowed, want 20", got)
	}
	tests := []struct {
		name, remote, ua string
		at               time.Duration
		want             int
	}{
		{"flooding IP, a new agent", "192.0.2.1:9", "fresh", 0, 429},
		{"another IPv4", "192.0.2.2:1", "agent/1", 0, 200},
		{"the neighbouring IPv4", "192.0.2.0:1", "agent/1", 0, 200},
		{"same IPv6 /64", "[2001:db8:1:2:ffff::9]:1", "fresh", 0, 429},
		{"another IPv6 /64", "[2001:db8:1:3::1]:1", "agent/1", 0, 200},
		{"flooding IP, one interval later", "192.0.2.1:9", "later", 3 * time.Second, 200},
		{"flooding IP, again at once", "192.0.2.1:9", "later-2", 3 * time.Second, 429},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.t = t0.Add(tt.at)
			if got := serve(tt.remote, tt.ua); got != tt.want {
				t.Fatalf("status %d, want %d", got, tt.want)
			}
		})
	}
}

// A client under its own budget is told about the tighter limit: once the IP
// group has fewer requests left than the client, RateLimit names the IP
// policy; a refusal by the ceiling carries its exact Retry-After.
func TestIPCeilingHeaders(t *testing.T) {
	clk := &clock{t0}
	l := newLimiter(t, Config{Limit: Limit{Rate: 4, Period: 4 * time.Second}, IPLimit: Limit{Rate: 6, Period: 6 * time.Second}, Name: "api", Now: clk.Now})
	h := l.Handler(okHandler)
	type result struct {
		status           int
		rateLimit, retry string
	}
	steps := []struct {
		ua   string
		want result
	}{
		{"a", result{200, `"api";r=3;t=1`, ""}},    // ip r=5
		{"a", result{200, `"api";r=2;t=2`, ""}},    // ip r=4
		{"b", result{200, `"api-ip";r=3;t=3`, ""}}, // client b r=3;t=1: a tie, the later reset is tighter
		{"b", result{200, `"api-ip";r=2;t=4`, ""}},
		{"c", result{200, `"api-ip";r=1;t=5`, ""}},
		{"c", result{200, `"api-ip";r=0;t=6`, ""}},
		{"d", result{429, `"api-ip";r=0;t=6`, "1"}},
	}
	for i, st := range steps {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newReq("192.0.2.1:1", st.ua))
		got := result{rec.Code, rec.Header().Get("RateLimit"), rec.Header().Get("Retry-After")}
		if got != st.want {
			t.Fatalf("step %d (%s): %+v, want %+v", i, st.ua, got, st.want)
		}
		if p := rec.Header().Get("RateLimit-Policy"); p != `"api";q=4;w=4, "api-ip";q=6;w=6` {
			t.Fatalf("RateLimit-Policy %q, want both policies", p)
		}
	}
	d, err := l.Check(newReq("192.0.2.1:1", "e"))
	if err != nil || d.Allowed || d.Limit != l.cfg.IPLimit {
		t.Fatalf("Check refused by the ceiling: %+v, %v; want Limit = IPLimit", d, err)
	}
	// Off, the policy is the client's alone.
	off := newLimiter(t, Config{Limit: PerMinute(5), IPMultiple: -1})
	rec := httptest.NewRecorder()
	off.Handler(okHandler).ServeHTTP(rec, newReq("192.0.2.1:1", "a"))
	if p := rec.Header().Get("RateLimit-Policy"); p != `"default";q=5;w=60` {
		t.Fatalf("ceiling off: RateLimit-Policy %q", p)
	}
}

// A request the client budget refuses never reaches the IP ceiling: one
// client hammering past its budget does not use up its neighbours' ceiling.
func TestIPCeilingNotSpentByRefusedClients(t *testing.T) {
	clk := &clock{t0}
	l := newLimiter(t, Config{Limit: Limit{Rate: 1, Period: time.Minute}, IPMultiple: 3, Now: clk.Now})
	h := l.Handler(okHandler)
	for range 100 {
		h.ServeHTTP(httptest.NewRecorder(), newReq("192.0.2.1:1", "hammer"))
	}
	if got := floodUAs(h, "192.0.2.1:1", 10); got != 2 {
		t.Fatalf("after one client's refused flood, %d neighbours allowed, want the 2 left of a ceiling of 3", got)
	}
}

// The IP key is a keyed hash of the group alone, mixed with the limiter's
// own mask: it depends on the secret, differs from the client key and from
// other limiters' keys, and holds no address bytes.
func TestIPCeilingKey(t *testing.T) {
	r := newReq("192.0.2.1:1", "ua")
	a := newLimiter(t, Config{Limit: PerMinute(1), Identifier: mustIdentifier(t, IdentityConfig{})})
	b := newLimiter(t, Config{Limit: PerMinute(1), Identifier: mustIdentifier(t, IdentityConfig{Secret: []byte(strings.Repeat("x", 32))})})
	c := newLimiter(t, Config{Limit: PerMinute(1), Identifier: a.cfg.Identifier, Name: "other"})
	ka, ipa, byIP := a.keys(r)
	_, ipb, _ := b.keys(r)
	_, ipc, _ := c.keys(r)
	_, ipOther, _ := a.keys(newReq("192.0.2.1:2", "another agent"))
	switch {
	case !byIP:
		t.Fatal("the ceiling does not apply to a request keyed by identity")
	case ipa != ipOther:
		t.Fatal("two agents of one IP have different IP keys")
	case ipa == ipb:
		t.Fatal("the IP key does not depend on the secret")
	case ipa == ipc:
		t.Fatal("two limiters share IP keys")
	case ipa == ka:
		t.Fatal("the IP key is the client key")
	case strings.Contains(string(ipa[:]), "\xc0\x00\x02\x01"):
		t.Fatal("the IP key holds the address")
	}
	// A KeyFunc key has no IP ceiling.
	k := newLimiter(t, Config{Limit: PerMinute(1), KeyFunc: func(*http.Request) ([32]byte, bool) { return key(1), true }})
	if _, _, byIP := k.keys(r); byIP {
		t.Fatal("the IP ceiling applies to a KeyFunc key")
	}
}

func TestIPCeilingConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		want string
	}{
		{"off and set", Config{Limit: PerMinute(1), IPMultiple: -1, IPLimit: PerMinute(5)}, "Config.IPMultiple -1"},
		{"bad explicit", Config{Limit: PerMinute(1), IPLimit: Limit{Rate: -1, Period: time.Minute}}, "Config.IPLimit.Rate -1"},
		{"multiple overflows", Config{Limit: PerHour(1 << 30), IPMultiple: 1 << 40}, "overflows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	// A client budget above 100,000/s gets the finest ceiling a Limit
	// holds, with the multiplied burst, rather than an error.
	l, err := New(Config{Limit: PerSecond(500_000)})
	if want := (Limit{Rate: 1_000_000, Period: time.Second, Burst: 5_000_000}); err != nil || l.cfg.IPLimit != want {
		t.Fatalf("a fine client limit: IPLimit %v, %v; want %v", l.cfg.IPLimit, err, want)
	}
}

// The ceiling's second decision keeps the middleware allocation-free (the
// clock moves a second a request, so the RateLimit values repeat and come
// from the cache).
func TestIPCeilingAllocs(t *testing.T) {
	clk := &clock{t0}
	l := newLimiter(t, Config{Limit: PerSecond(10), Now: clk.Now})
	h := l.Handler(okHandler)
	r := newReq("192.0.2.1:1", "ua")
	w := &nopWriter{h: http.Header{}}
	h.ServeHTTP(w, r)
	if n := testing.AllocsPerRun(100, func() { clk.t = clk.t.Add(time.Second); clear(w.h); h.ServeHTTP(w, r) }); n != 0 {
		t.Fatalf("%v allocations per request", n)
	}
}
