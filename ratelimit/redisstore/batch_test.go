package redisstore

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/apiguard/apiguard/ratelimit"
	"github.com/redis/go-redis/v9"
)

func startRedis(t testing.TB) (*redistest.Server, *redis.Client) {
	rs := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	return rs, rdb
}

// scriptCalls is how many scripts Redis has run for clients: EVALSHA and
// EVAL from INFO commandstats (the GET and SET a script runs are its own
// work, not round trips).
func scriptCalls(t testing.TB, rs *redistest.Server) int {
	t.Helper()
	n := 0
	for _, c := range []string{"evalsha", "eval"} {
		k, err := rs.CommandCalls(c)
		if err != nil {
			t.Fatal(err)
		}
		n += k
	}
	return n
}

// commandsOf is Redis's total_commands_processed (INFO stats).
func commandsOf(t testing.TB, rs *redistest.Server) int {
	t.Helper()
	n, err := rs.TotalCommands()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var policies = []ratelimit.Policy{
	{Name: "burst", Limit: ratelimit.PerSecond(1000)},
	{Name: "hourly", Limit: ratelimit.PerHour(100_000)},
	{Name: "daily", Limit: ratelimit.PerDay(1_000_000)},
}

// Three policies and their three IP ceilings cost one round trip per
// request: one EVALSHA (the first request, an EVAL), counted by Redis.
func TestBatchOneRoundTrip(t *testing.T) {
	rs, rdb := startRedis(t)
	st, err := NewLimiterStore(rdb, Options{OverLimit: OverLimitOptions{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	l := newLimiter(t, ratelimit.Config{Store: st, Policies: policies})
	h := l.Handler(okHandler)
	h.ServeHTTP(httptest.NewRecorder(), newReq("192.0.2.1:1", "warm")) // loads the script
	before, beforeAll := scriptCalls(t, rs), commandsOf(t, rs)
	const n = 50
	for i := range n {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newReq("192.0.2.1:1", "ua/"+strconv.Itoa(i%5)))
		if rec.Code != 200 {
			t.Fatalf("request %d: %d", i, rec.Code)
		}
	}
	if got := scriptCalls(t, rs) - before; got != n {
		t.Fatalf("%d scripts for %d requests, want one each", got, n)
	}
	// Nothing else reached Redis: total_commands_processed counts the
	// scripts, the TIME each runs and its GET and SET of each of its six
	// keys, and the
	// test's own INFO calls (scriptCalls' two, commandsOf's one).
	if got, want := commandsOf(t, rs)-beforeAll, n*(1+1+6+6)+3; got != want {
		t.Fatalf("%d commands for %d requests, want %d", got, n, want)
	}
}

// On Redis too a refused batch consumes nothing, and concurrent batches on
// one client are exact.
func TestBatchAtomicRedis(t *testing.T) {
	_, rdb := startRedis(t)
	st, err := NewLimiterStore(rdb, Options{OverLimit: OverLimitOptions{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	claims := []ratelimit.Claim{
		{Key: testKey(1), Limit: ratelimit.Limit{Rate: 100, Period: day}},
		{Key: testKey(2), Limit: ratelimit.Limit{Rate: 1000, Period: day}},
		{Key: testKey(3), Limit: ratelimit.Limit{Rate: 50, Period: day}},
	}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			var out [3]ratelimit.Decision
			ok, err := st.AllowBatch(context.Background(), testKey(9), claims, t0, 1, out[:])
			if err != nil {
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
	var out [3]ratelimit.Decision
	if ok, err := st.AllowBatch(context.Background(), testKey(9), claims, t0, 0, out[:]); err != nil || !ok {
		t.Fatalf("report: %v %v", ok, err)
	}
	for i, want := range []int{50, 950, 0} {
		if out[i].Remaining != want {
			t.Fatalf("claim %d: %d remaining, want %d: refused batches consumed", i, out[i].Remaining, want)
		}
	}
	// a cost that does not fit in one claim is refused and takes nothing
	ok, err := st.AllowBatch(context.Background(), testKey(9), claims[:2], t0, 51, out[:2])
	if err != nil || ok || !out[1].Allowed || out[0].Allowed || out[0].RetryAfter <= 0 {
		t.Fatalf("cost 51: %v %v %+v", ok, err, out[:2])
	}
	if out[1].Remaining != 950 {
		t.Fatalf("the admitting claim reports %d remaining, want its state before, 950", out[1].Remaining)
	}
	if _, err := st.AllowBatch(context.Background(), testKey(9), claims[:2], t0, 50, out[:2]); err != nil || !out[0].Allowed || out[0].Remaining != 0 || out[1].Remaining != 900 {
		t.Fatalf("cost 50 after the refusal: %v %+v", err, out[:2])
	}
}

// A flood from one client over its limit costs at most one round trip per
// 100 requests with the over-limit memory (about one per MaxAge), and
// every request past the budget is refused.
func TestOverLimitFlood(t *testing.T) {
	rs, rdb := startRedis(t)
	st, err := NewLimiterStore(rdb, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := newLimiter(t, ratelimit.Config{Store: st, Policies: []ratelimit.Policy{{Name: "burst", Limit: ratelimit.PerMinute(10)}, {Name: "daily", Limit: ratelimit.PerDay(1000)}}})
	h := l.Handler(okHandler)
	h.ServeHTTP(httptest.NewRecorder(), newReq("192.0.2.1:1", "warm"))
	before := scriptCalls(t, rs)
	const n = 5000
	allowed := 0
	for i := range n {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newReq("192.0.2.2:1", "flood"))
		switch rec.Code {
		case 200:
			allowed++
		case 429:
			if rec.Header().Get("Retry-After") == "" || rec.Header().Get("RateLimit") == "" {
				t.Fatalf("request %d: a local refusal without its fields: %v", i, rec.Header())
			}
		default:
			t.Fatalf("request %d: %d", i, rec.Code)
		}
	}
	calls := scriptCalls(t, rs) - before
	perReq := float64(calls) / n
	t.Logf("flood of %d: %d allowed, %d scripts, %.4f per request", n, allowed, calls, perReq)
	if allowed != 10 {
		t.Fatalf("%d allowed, want the burst, 10", allowed)
	}
	if perReq > 0.01 {
		t.Fatalf("%.4f Redis commands per request (%d for %d), want at most 0.01", perReq, calls, n)
	}
}

// The memory refuses only what Redis refused: the same key and limit, at
// least the refused cost, until min(RetryAfter, MaxAge); after that Redis
// is asked again.
func TestOverLimitMemory(t *testing.T) {
	now := t0
	m, err := newOverLimit(OverLimitOptions{MaxAge: time.Second, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	lim := ratelimit.PerMinute(10)
	claims := []ratelimit.Claim{{Key: testKey(1), Limit: lim}, {Key: testKey(2), Limit: lim}}
	refused := []ratelimit.Decision{{Allowed: true, Limit: lim, Remaining: 5}, {Allowed: false, Limit: lim, RetryAfter: 30 * time.Second, ResetAfter: time.Minute}}
	m.remember(claims, 5, refused)
	var out [2]ratelimit.Decision
	tests := []struct {
		name   string
		at     time.Duration
		claims []ratelimit.Claim
		n      int
		want   bool
	}{
		{"same", 0, claims, 5, true},
		{"costlier", 500 * time.Millisecond, claims, 6, true},
		{"cheaper", 0, claims, 4, false},
		{"the refused claim alone", 0, claims[1:], 5, true},
		{"the admitting claim alone", 0, claims[:1], 5, false},
		{"other limit", 0, []ratelimit.Claim{{Key: testKey(2), Limit: ratelimit.PerMinute(11)}}, 5, false},
		{"other key", 0, []ratelimit.Claim{{Key: testKey(3), Limit: lim}}, 5, false},
		{"at MaxAge", time.Second, claims, 5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now = t0.Add(tt.at)
			if got := m.refuse(tt.claims, tt.n, out[:]); got != tt.want {
				t.Fatalf("refused %v, want %v", got, tt.want)
			}
		})
	}
	now = t0.Add(400 * time.Millisecond)
	if !m.refuse(claims, 5, out[:]) || out[1].Allowed || out[1].RetryAfter != 29600*time.Millisecond || !out[0].Allowed {
		t.Fatalf("decisions %+v", out)
	}
	// a retry sooner than MaxAge ends the memory sooner
	now = t0
	m.remember(claims[:1], 1, []ratelimit.Decision{{Limit: lim, RetryAfter: 100 * time.Millisecond}})
	now = t0.Add(100 * time.Millisecond)
	if m.refuse(claims[:1], 1, out[:]) {
		t.Fatal("remembered past its RetryAfter")
	}
}

func TestOverLimitOptionsErrors(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	for _, tt := range []struct {
		o    OverLimitOptions
		want string
	}{
		{OverLimitOptions{Slots: -1}, "Options.OverLimit.Slots -1"},
		{OverLimitOptions{Slots: MaxOverLimitSlots + 1}, "Options.OverLimit.Slots 1048577"},
		{OverLimitOptions{MaxAge: -time.Second}, "Options.OverLimit.MaxAge -1s"},
		{OverLimitOptions{MaxAge: 2 * time.Minute}, "Options.OverLimit.MaxAge 2m0s"},
	} {
		if _, err := NewLimiterStore(c, Options{OverLimit: tt.o}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v, want %q", tt.o, err, tt.want)
		}
	}
}

// All of a request's keys share one hash slot, so the batch runs on Redis
// Cluster.
func TestBatchOnCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	t.Cleanup(func() { _ = rdb.Close() })
	st := newLimiterStore(t, rdb)
	l := newLimiter(t, ratelimit.Config{Store: st, Policies: []ratelimit.Policy{{Name: "burst", Limit: ratelimit.PerMinute(3)}, {Name: "daily", Limit: ratelimit.PerDay(100)}}})
	h := l.Handler(okHandler)
	for ip := range 5 {
		codes := ""
		for range 4 {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, newReq("192.0.2."+strconv.Itoa(ip+1)+":1", "ua"))
			codes += strconv.Itoa(rec.Code) + " "
		}
		if codes != "200 200 200 429 " {
			t.Fatalf("client %d: %s", ip, codes)
		}
	}
}

func BenchmarkBatchRedis(b *testing.B) {
	rs, rdb := startRedis(b)
	for _, nPol := range []int{1, 3} {
		b.Run("policies="+strconv.Itoa(nPol), func(b *testing.B) {
			st, _ := NewLimiterStore(rdb, Options{})
			l := newLimiter(b, ratelimit.Config{Store: st, Policies: policies[:nPol]})
			h := l.Handler(okHandler)
			reqs := make([]*http.Request, 64)
			for i := range reqs {
				reqs[i] = newReq("192.0.2."+strconv.Itoa(i)+":1", "ua")
			}
			before := scriptCalls(b, rs)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				h.ServeHTTP(httptest.NewRecorder(), reqs[i&63])
			}
			b.StopTimer()
			b.ReportMetric(float64(scriptCalls(b, rs)-before)/float64(b.N), "roundtrips/op")
		})
	}
	b.Run("flood-over-limit", func(b *testing.B) {
		st, _ := NewLimiterStore(rdb, Options{})
		l := newLimiter(b, ratelimit.Config{Store: st, Policies: []ratelimit.Policy{{Name: "burst", Limit: ratelimit.PerMinute(10)}, {Name: "daily", Limit: ratelimit.PerDay(1000)}}})
		h := l.Handler(okHandler)
		r := newReq("198.51.100.1:1", "flood")
		before := scriptCalls(b, rs)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			h.ServeHTTP(httptest.NewRecorder(), r)
		}
		b.StopTimer()
		b.ReportMetric(float64(scriptCalls(b, rs)-before)/float64(b.N), "commands/op")
	})
}
