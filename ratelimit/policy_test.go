package ratelimit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apiguard/apiguard/auditlog"
)

func TestPoliciesConfigErrors(t *testing.T) {
	ok := []Policy{{Name: "burst", Limit: PerSecond(2)}}
	nine := make([]Policy, MaxPolicies+1)
	for i := range nine {
		nine[i] = Policy{Name: "p" + string(rune('a'+i)), Limit: PerMinute(1)}
	}
	tests := []struct {
		name string
		c    Config
		want string
	}{
		{"both", Config{Limit: PerMinute(1), Policies: ok}, "Config.Limit 1/1m0s and Config.Policies are both set"},
		{"none", Config{}, "Config.Limit is zero"},
		{"too many", Config{Policies: nine}, "Config.Policies has 9 policies; at most 8"},
		{"empty name", Config{Policies: []Policy{{Limit: PerMinute(1)}}}, `Config.Policies[0].Name ""`},
		{"digit first", Config{Policies: []Policy{{Name: "1d", Limit: PerMinute(1)}}}, `Config.Policies[0].Name "1d"`},
		{"quote", Config{Policies: []Policy{{Name: `a"b`, Limit: PerMinute(1)}}}, `Config.Policies[0].Name "a\"b"`},
		{"space", Config{Policies: []Policy{{Name: "a b", Limit: PerMinute(1)}}}, `Config.Policies[0].Name "a b"`},
		{"too long", Config{Policies: []Policy{{Name: "a" + strings.Repeat("b", 64), Limit: PerMinute(1)}}}, "Config.Policies[0].Name"},
		{"zero limit", Config{Policies: []Policy{ok[0], {Name: "daily"}}}, "Config.Policies[1].Limit is zero"},
		{"bad limit", Config{Policies: []Policy{ok[0], {Name: "daily", Limit: Limit{Rate: -1, Period: time.Hour}}}}, "Config.Policies[1].Limit.Rate -1"},
		{"duplicate", Config{Policies: []Policy{ok[0], ok[0]}}, `the name "burst" is used twice`},
		{"meets a ceiling", Config{Policies: []Policy{ok[0], {Name: "burst-ip", Limit: PerMinute(1)}}}, `the name "burst-ip" is used twice`},
		{"ceiling overflows", Config{Policies: []Policy{{Name: "a", Limit: PerHour(1 << 30)}}, IPMultiple: 1 << 40}, `policy "a"`},
		{"shadow and fail closed", Config{Limit: PerMinute(1), Shadow: true, FailClosed: true}, "Config.Shadow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := New(Config{Policies: nine[:MaxPolicies]}); err != nil {
		t.Fatalf("MaxPolicies policies: %v", err)
	}
	if _, err := New(Config{Policies: []Policy{{Name: "a" + strings.Repeat("b", 63), Limit: PerMinute(1)}}, IPMultiple: -1}); err != nil {
		t.Fatalf("a 64-byte name: %v", err)
	}
}

func burstDaily() []Policy {
	return []Policy{{Name: "burst", Limit: Limit{Rate: 2, Period: time.Second}}, {Name: "daily", Limit: PerDay(5)}}
}

// Each policy and each ceiling is a RateLimit-Policy item; RateLimit names
// the tightest; a request passes only when every policy admits it.
func TestPoliciesHeaders(t *testing.T) {
	clk := &clock{t0}
	l := newLimiter(t, Config{Policies: burstDaily(), Now: clk.Now})
	h := l.Handler(okHandler)
	steps := []struct {
		at        time.Duration
		status    int
		rateLimit string
		retry     string
	}{
		{0, 200, `"burst";r=1;t=1`, ""},
		{0, 200, `"burst";r=0;t=1`, ""},
		{0, 429, `"burst";r=0;t=1`, "1"},
		{time.Second, 200, `"burst";r=1;t=1`, ""},         // daily: r=2
		{time.Second, 200, `"burst";r=0;t=1`, ""},         // daily: r=1
		{2 * time.Second, 200, `"daily";r=0;t=86398`, ""}, // burst r=1; 5 of 5 spent
		{3 * time.Second, 429, `"daily";r=0;t=86397`, "17277"},
	}
	for i, st := range steps {
		clk.t = t0.Add(st.at)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newReq("192.0.2.1:1", "ua"))
		if rec.Code != st.status || rec.Header().Get("RateLimit") != st.rateLimit || rec.Header().Get("Retry-After") != st.retry {
			t.Fatalf("step %d: %d %q retry %q, want %d %q %q", i, rec.Code, rec.Header().Get("RateLimit"), rec.Header().Get("Retry-After"), st.status, st.rateLimit, st.retry)
		}
		if p := rec.Header().Get("RateLimit-Policy"); p != `"burst";q=2;w=1, "daily";q=5;w=86400, "burst-ip";q=20;w=1, "daily-ip";q=50;w=86400` {
			t.Fatalf("RateLimit-Policy %q", p)
		}
	}
}

// A request one policy refuses consumes nothing from the others: after a
// burst of refusals, the daily quota is untouched.
func TestPoliciesRefusedConsumeNothing(t *testing.T) {
	clk := &clock{t0}
	st, _ := NewMemoryStore(MemoryOptions{})
	l := newLimiter(t, Config{Store: st, Policies: burstDaily(), Now: clk.Now})
	h := l.Handler(okHandler)
	allowed := 0
	for range 100 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newReq("192.0.2.1:1", "ua"))
		if rec.Code == 200 {
			allowed++
		}
	}
	if allowed != 2 {
		t.Fatalf("%d allowed within one second, want the burst, 2", allowed)
	}
	clk.t = clk.t.Add(time.Second)
	if got := serveN(h, "192.0.2.1:1", 2); got != 2 {
		t.Fatalf("after the refused flood, %d of 2 allowed: the refusals spent the daily quota", got)
	}
	clk.t = clk.t.Add(time.Second)
	if got := serveN(h, "192.0.2.1:1", 5); got != 1 {
		t.Fatalf("%d allowed, want the 1 left of the daily 5", got)
	}
}

func serveN(h http.Handler, remote string, n int) (allowed int) {
	for range n {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newReq(remote, "ua"))
		if rec.Code == 200 {
			allowed++
		}
	}
	return allowed
}

// Under concurrency on one client the memory store decides the batch
// atomically: exactly the tightest budget is admitted and the others count
// exactly the admitted requests.
func TestPoliciesAtomicMemory(t *testing.T) {
	st, _ := NewMemoryStore(MemoryOptions{Shards: 64})
	claims := []Claim{{Key: key(1), Limit: PerDay(100)}, {Key: key(2), Limit: PerDay(1000)}, {Key: key(3), Limit: PerDay(50)}}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 500 {
		wg.Go(func() {
			var out [3]Decision
			if ok, err := st.AllowBatch(context.Background(), key(9), claims, t0, 1, out[:]); err != nil {
				t.Error(err)
			} else if ok {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if allowed.Load() != 50 {
		t.Fatalf("%d admitted, want 50", allowed.Load())
	}
	for i, want := range []int{50, 950, 0} {
		d, _ := st.Allow(context.Background(), claims[i].Key, claims[i].Limit, t0, 0)
		if d.Remaining != want {
			t.Fatalf("claim %d: %d remaining, want %d", i, d.Remaining, want)
		}
	}
}

func TestAllowBatchErrors(t *testing.T) {
	st, _ := NewMemoryStore(MemoryOptions{})
	var out [MaxClaims + 1]Decision
	many := make([]Claim, MaxClaims+1)
	for i := range many {
		many[i] = Claim{Key: key(uint64(i)), Limit: PerMinute(1)}
	}
	tests := []struct {
		name   string
		claims []Claim
		n      int
		out    []Decision
		want   string
	}{
		{"none", nil, 1, out[:], "0 claims"},
		{"too many", many, 1, out[:], "17 claims"},
		{"short out", many[:2], 1, out[:1], "out holds 1 decisions for 2 claims"},
		{"negative", many[:1], -1, out[:], "n must not be negative"},
		{"bad limit", []Claim{{Key: key(1), Limit: Limit{Rate: 1}}}, 1, out[:], "Claim.Limit.Period"},
		{"same key", []Claim{many[0], many[1], many[0]}, 1, out[:], "claims 0 and 2 have the same key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := st.AllowBatch(context.Background(), key(0), tt.claims, t0, tt.n, tt.out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// A refused batch reports, for its admitting claims, the state before the
// call (nothing was taken).
func TestAllowBatchRefusedReportsBefore(t *testing.T) {
	st, _ := NewMemoryStore(MemoryOptions{})
	claims := []Claim{{Key: key(1), Limit: PerMinute(10)}, {Key: key(2), Limit: PerMinute(3)}}
	var out [2]Decision
	ok, _ := st.AllowBatch(context.Background(), key(0), claims, t0, 4, out[:])
	if ok || !out[0].Allowed || out[1].Allowed {
		t.Fatalf("admitted %v, %+v", ok, out)
	}
	if out[0].Remaining != 10 || out[0].ResetAfter != 0 {
		t.Fatalf("the admitting claim reports %+v, want its untouched state", out[0])
	}
}

// Cost: a request counts its cost against every policy, is refused when
// the cost does not fit (and consumes nothing), is refused at once when it
// never could, and never counts less than 1.
func TestCost(t *testing.T) {
	clk := &clock{t0}
	cost := 1
	l := newLimiter(t, Config{Limit: Limit{Rate: 10, Period: time.Hour}, Now: clk.Now, IPMultiple: -1, Cost: func(*http.Request) int { return cost }})
	h := l.Handler(okHandler)
	serve := func(c int) *httptest.ResponseRecorder {
		cost = c
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newReq("192.0.2.1:1", "ua"))
		return rec
	}
	steps := []struct {
		cost      int
		status    int
		rateLimit string
		retry     string
	}{
		{3, 200, `"default";r=7;t=1080`, ""},
		{8, 429, `"default";r=7;t=1080`, "360"}, // 8 > 7: refused after adding the cost
		{7, 200, `"default";r=0;t=3600`, ""},    // the refusal consumed nothing
		{0, 429, `"default";r=0;t=3600`, "360"}, // a cost below 1 counts as 1
		{-5, 429, `"default";r=0;t=3600`, "360"},
		{11, 429, "", ""}, // above the burst: never fits, no Retry-After
	}
	for i, st := range steps {
		rec := serve(st.cost)
		if rec.Code != st.status || rec.Header().Get("RateLimit") != st.rateLimit || rec.Header().Get("Retry-After") != st.retry {
			t.Fatalf("step %d (cost %d): %d %q retry %q, want %d %q %q", i, st.cost, rec.Code, rec.Header().Get("RateLimit"), rec.Header().Get("Retry-After"), st.status, st.rateLimit, st.retry)
		}
	}
	// a never-fitting request consumed nothing: an hour later the full burst is back
	clk.t = clk.t.Add(time.Hour)
	if rec := serve(10); rec.Code != 200 {
		t.Fatalf("cost 10 after the refill: %d", rec.Code)
	}
	d, err := l.Check(newReq("192.0.2.1:1", "ua"))
	if err != nil || d.Allowed || d.Policy != "default" {
		t.Fatalf("Check: %+v %v", d, err)
	}
}

// The never-fitting check compares with each policy's own burst, IP
// ceilings included.
func TestCostAboveBurstOfOnePolicy(t *testing.T) {
	l := newLimiter(t, Config{Policies: []Policy{{Name: "a", Limit: PerMinute(100)}, {Name: "b", Limit: Limit{Rate: 100, Period: time.Minute, Burst: 5}}},
		IPLimit: PerMinute(1000), Cost: func(*http.Request) int { return 6 }})
	r := newReq("192.0.2.1:1", "ua")
	r.Header.Set("Accept", "application/problem+json")
	rec := httptest.NewRecorder()
	l.Handler(okHandler).ServeHTTP(rec, r)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "" || !strings.Contains(rec.Body.String(), `"violated-policies":["b"]`) {
		t.Fatalf("%d retry %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
}

// Shadow mode: every request passes, no rate-limit field is sent, and each
// would-be refusal is recorded (and counted) with the shadow reason, naming
// the policy.
func TestShadow(t *testing.T) {
	var buf bytes.Buffer
	var counted atomic.Int64
	audit := auditlog.New(&buf, auditlog.Options{Counter: auditlog.CounterFunc(func(event, reason string) {
		if event == "rate_limited" && reason == "ratelimit_shadow" {
			counted.Add(1)
		}
	})})
	clk := &clock{t0}
	l := newLimiter(t, Config{Policies: burstDaily(), Shadow: true, Audit: audit, Now: clk.Now})
	h := l.Handler(okHandler)
	for i := range 5 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newReq("192.0.2.1:1", "ua"))
		if rec.Code != 200 {
			t.Fatalf("request %d: %d in shadow mode", i, rec.Code)
		}
		if rec.Header().Get("RateLimit") != "" || rec.Header().Get("RateLimit-Policy") != "" || rec.Header().Get("Retry-After") != "" {
			t.Fatalf("request %d: rate-limit fields in shadow mode: %v", i, rec.Header())
		}
	}
	if counted.Load() != 3 {
		t.Fatalf("%d shadow refusals counted, want 3", counted.Load())
	}
	if !strings.Contains(buf.String(), `"event":"rate_limited","reason":"ratelimit_shadow"`) && !strings.Contains(buf.String(), `"reason":"ratelimit_shadow"`) {
		t.Fatalf("no shadow event:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), `policy \"burst\" would refuse`) {
		t.Fatalf("the event does not name the policy:\n%s", buf.String())
	}
	// the decisions are still computed: a shadow refusal consumed nothing,
	// so the burst is back a second later
	clk.t = clk.t.Add(time.Second)
	d, _ := l.Check(newReq("192.0.2.1:1", "ua"))
	if !d.Allowed || d.Policy != "burst" || d.Remaining != 1 {
		t.Fatalf("after the shadow refusals: %+v", d)
	}
	// a failing store in shadow mode fails open
	s := newLimiter(t, Config{Store: &failingStore{fail: true}, Limit: PerMinute(1), Shadow: true})
	rec := httptest.NewRecorder()
	s.Handler(okHandler).ServeHTTP(rec, newReq("192.0.2.1:1", "ua"))
	if rec.Code != 200 {
		t.Fatalf("shadow with a failing store: %d", rec.Code)
	}
}

// pk is a keyed hash: a byte sequence of 12 bytes that holds no address
// byte sequence, differs between clients, and is absent unless asked for.
func TestPartitionKey(t *testing.T) {
	secret := []byte(strings.Repeat("k", 32))
	pkOf := func(remote, ua string, on bool) string {
		id := mustIdentifier(t, IdentityConfig{Secret: secret})
		l := newLimiter(t, Config{Identifier: id, Limit: PerMinute(10), PartitionKey: on})
		rec := httptest.NewRecorder()
		l.Handler(okHandler).ServeHTTP(rec, newReq(remote, ua))
		v := rec.Header().Get("RateLimit")
		_, pk, found := strings.Cut(v, ";pk=")
		if !on {
			if found {
				t.Fatalf("pk without PartitionKey: %q", v)
			}
			return ""
		}
		if !found || len(pk) < 2 || pk[0] != ':' || pk[len(pk)-1] != ':' {
			t.Fatalf("RateLimit %q has no byte-sequence pk", v)
		}
		b, err := base64.StdEncoding.DecodeString(pk[1 : len(pk)-1])
		if err != nil || len(b) != pkBytes {
			t.Fatalf("pk %q: %d bytes, %v", pk, len(b), err)
		}
		for _, ip := range [][]byte{{192, 0, 2, 1}, []byte("192.0.2.1"), []byte("192.0.2.")} {
			if bytes.Contains(b, ip) || strings.Contains(v, string(ip)) {
				t.Fatalf("pk %q holds the address", pk)
			}
		}
		return pk
	}
	a := pkOf("192.0.2.1:1", "ua", true)
	if b := pkOf("192.0.2.1:1", "ua", true); a != b {
		t.Fatalf("one client, two pks: %q %q", a, b)
	}
	if b := pkOf("192.0.2.2:1", "ua", true); a == b {
		t.Fatal("two clients share a pk")
	}
	if b := pkOf("192.0.2.1:1", "another ua", true); a == b {
		t.Fatal("two agents share a pk")
	}
	pkOf("192.0.2.1:1", "ua", false)
}

// Problem details: only to a client that prefers them; quota-exceeded with
// every violated policy on a 429, temporary-reduced-capacity on a
// fail-closed 503; the JSON bodies otherwise.
func TestProblemDetails(t *testing.T) {
	clk := &clock{t0}
	l := newLimiter(t, Config{Policies: []Policy{{Name: "burst", Limit: PerSecond(1)}, {Name: "daily", Limit: PerDay(1)}}, IPMultiple: -1, Now: clk.Now})
	h := l.Handler(okHandler)
	serve := func(accept string) *httptest.ResponseRecorder {
		r := newReq("192.0.2.1:1", "ua")
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	serve("")
	for _, accept := range []string{"", "*/*", "application/json", "application/problem+json;q=0.5, application/json"} {
		rec := serve(accept)
		if rec.Code != 429 || rec.Header().Get("Content-Type") != "application/json" || rec.Body.String() != string(bodyLimited) {
			t.Fatalf("Accept %q: %d %q %s", accept, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
	}
	rec := serve("application/problem+json")
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 429 || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%d %q %s %v", rec.Code, rec.Header().Get("Content-Type"), rec.Body, err)
	}
	want := map[string]any{"type": "https://iana.org/assignments/http-problem-types#quota-exceeded", "title": "Too many requests", "status": float64(429), "violated-policies": []any{"burst", "daily"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("body %s", rec.Body)
	}
	if rec.Header().Get("Retry-After") == "" || rec.Header().Get("RateLimit") == "" {
		t.Fatal("fields missing on a problem response")
	}
	clk.t = clk.t.Add(time.Second) // only the daily quota is violated now
	if rec := serve("application/problem+json"); !strings.Contains(rec.Body.String(), `"violated-policies":["daily"]`) {
		t.Fatalf("body %s", rec.Body)
	}

	fc := newLimiter(t, Config{Store: &failingStore{fail: true}, Limit: PerMinute(1), FailClosed: true})
	for accept, want := range map[string]string{
		"":                         string(bodyUnavail),
		"application/problem+json": `{"type":"https://iana.org/assignments/http-problem-types#temporary-reduced-capacity","title":"Service temporarily unavailable","status":503}` + "\n",
	} {
		r := newReq("192.0.2.1:1", "ua")
		r.Header.Set("Accept", accept)
		rec := httptest.NewRecorder()
		fc.Handler(okHandler).ServeHTTP(rec, r)
		if rec.Code != 503 || rec.Body.String() != want || rec.Header().Get("Retry-After") != "1" {
			t.Fatalf("Accept %q: %d %s", accept, rec.Code, rec.Body)
		}
	}
}

// Several policies keep the middleware allocation-free on a memory store.
func TestPoliciesAllocs(t *testing.T) {
	clk := &clock{t0}
	l := newLimiter(t, Config{Policies: []Policy{{Name: "burst", Limit: PerSecond(20)}, {Name: "hourly", Limit: PerHour(100_000)}, {Name: "daily", Limit: PerDay(1_000_000)}}, Now: clk.Now})
	h := l.Handler(okHandler)
	r := newReq("192.0.2.1:1", "ua")
	w := &nopWriter{h: http.Header{}}
	h.ServeHTTP(w, r)
	if n := testing.AllocsPerRun(100, func() { clk.t = clk.t.Add(time.Second); clear(w.h); h.ServeHTTP(w, r) }); n != 0 {
		t.Fatalf("%v allocations per request", n)
	}
}

// A plain Store (no AllowBatch) still gets every policy, one by one.
func TestPoliciesPlainStore(t *testing.T) {
	ms, _ := NewMemoryStore(MemoryOptions{})
	clk := &clock{t0}
	l := newLimiter(t, Config{Store: plainStore{ms}, Policies: burstDaily(), IPMultiple: -1, Now: clk.Now})
	h := l.Handler(okHandler)
	if got := serveN(h, "192.0.2.1:1", 10); got != 2 {
		t.Fatalf("%d allowed, want the burst 2", got)
	}
	clk.t = clk.t.Add(time.Second)
	if got := serveN(h, "192.0.2.1:1", 10); got != 2 {
		t.Fatalf("%d allowed, want 2: refusals spent the day", got)
	}
}

type plainStore struct{ s *MemoryStore }

func (p plainStore) Allow(ctx context.Context, key [32]byte, l Limit, now time.Time, n int) (Decision, error) {
	return p.s.Allow(ctx, key, l, now, n)
}

// An enforced refusal is recorded (and counted) as rate_limited, naming the
// policy that refused, so that dashboards and alerts see 429s, not only
// shadow decisions.
func TestRefusalRecorded(t *testing.T) {
	var buf bytes.Buffer
	var counted atomic.Int64
	audit := auditlog.New(&buf, auditlog.Options{Counter: auditlog.CounterFunc(func(event, reason string) {
		if event == "rate_limited" && reason == "ratelimit_exceeded" {
			counted.Add(1)
		}
	})})
	clk := &clock{t0}
	l := newLimiter(t, Config{Policies: burstDaily(), Audit: audit, Now: clk.Now})
	h := l.Handler(okHandler)
	codes := ""
	for range 5 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newReq("192.0.2.1:1", "ua"))
		codes += strconv.Itoa(rec.Code) + " "
	}
	if codes != "200 200 429 429 429 " {
		t.Fatalf("codes %s", codes)
	}
	if counted.Load() != 3 {
		t.Fatalf("%d refusals counted, want 3\n%s", counted.Load(), buf.String())
	}
	if !strings.Contains(buf.String(), `refused by policy \"burst\"`) {
		t.Fatalf("the event does not name the policy:\n%s", buf.String())
	}
}
