package peerbench

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apiguard/apiguard/ratelimit"
	"github.com/go-chi/httprate"
	"golang.org/x/time/rate"
)

// The same requests go through every limiter: 256 clients, one User-Agent,
// a budget none of them exhausts, so every request takes the allowed path
// (the common case) and reaches the handler.
const (
	clients = 256
	perSec  = 1_000_000
)

func requests() []*http.Request {
	reqs := make([]*http.Request, clients)
	for i := range reqs {
		r := httptest.NewRequest("GET", "/api/items", nil)
		r.RemoteAddr = "198.51.100." + strconv.Itoa(i) + ":" + strconv.Itoa(40000+i)
		r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")
		reqs[i] = r
	}
	return reqs
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

// apiguardLimiter returns apiguard's limiter over a memory store and the
// identifier it keys clients with.
func apiguardLimiter(tb testing.TB) (*ratelimit.Identifier, *ratelimit.Limiter) {
	id, err := ratelimit.NewIdentifier(ratelimit.IdentityConfig{Secret: bytes.Repeat([]byte("s"), 32)})
	if err != nil {
		tb.Fatal(err)
	}
	// No Store: the default memory store.
	l, err := ratelimit.New(ratelimit.Config{Identifier: id, Limit: ratelimit.Limit{Rate: perSec, Period: time.Second, Burst: 1 << 30}})
	if err != nil {
		tb.Fatal(err)
	}
	return id, l
}

func apiguardHandler(tb testing.TB) http.Handler {
	_, l := apiguardLimiter(tb)
	return l.Handler(ok)
}

// apiguardChainHandler adds the identity middleware in front, as the full
// chain runs it (the identity then serves the guard and the audit log too).
func apiguardChainHandler(tb testing.TB) http.Handler {
	id, l := apiguardLimiter(tb)
	return id.Handler(l.Handler(ok))
}

// httprate keyed by the connection's IP, as its docs recommend once the
// spoofable LimitByRealIP is off the table.
func httprateHandler() http.Handler {
	return httprate.LimitBy(perSec, time.Second, func(r *http.Request) (string, error) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			return "", err
		}
		return httprate.CanonicalizeIP(host), nil
	})(ok)
}

func httprateByIPHandler() http.Handler {
	return httprate.LimitByIP(perSec, time.Second)(ok)
}

// xtimeHandler is the usual hand-rolled limiter: a sync.Map of
// golang.org/x/time/rate limiters keyed by IP, no headers.
func xtimeHandler() http.Handler {
	var m sync.Map
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			http.Error(w, "bad address", http.StatusBadRequest)
			return
		}
		v, found := m.Load(host)
		if !found {
			v, _ = m.LoadOrStore(host, rate.NewLimiter(rate.Limit(perSec), 1<<30))
		}
		if !v.(*rate.Limiter).Allow() {
			http.Error(w, "too many requests", http.StatusTooManyRequests)
			return
		}
		ok.ServeHTTP(w, r)
	})
}

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

func threadCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// run serves the requests in a loop on one locked OS thread and reports CPU
// time per request (cpu-ns/op) beside wall time: the machine is shared, and
// CPU time is the steadier figure.
func run(b *testing.B, h http.Handler) result {
	reqs := requests()
	w := &nopWriter{h: http.Header{}}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	t0 := time.Now()
	start := threadCPU()
	for i := 0; i < b.N; i++ {
		clear(w.h)
		h.ServeHTTP(w, reqs[i%clients])
	}
	cpu := float64(threadCPU()-start) / float64(b.N)
	wall := float64(time.Since(t0).Nanoseconds()) / float64(b.N)
	runtime.ReadMemStats(&ms)
	b.ReportMetric(cpu, "cpu-ns/op")
	return result{cpu: cpu, wall: wall, allocs: float64(ms.Mallocs-mallocs) / float64(b.N)}
}

type candidate struct {
	name string
	h    func(testing.TB) http.Handler
}

func candidates() []candidate {
	return []candidate{
		{"bare", func(testing.TB) http.Handler { return ok }},
		{"apiguard", apiguardHandler},
		{"apiguard+identity-mw", apiguardChainHandler},
		{"httprate-LimitBy", func(testing.TB) http.Handler { return httprateHandler() }},
		{"httprate-LimitByIP", func(testing.TB) http.Handler { return httprateByIPHandler() }},
		{"xtime-syncmap", func(testing.TB) http.Handler { return xtimeHandler() }},
	}
}

type result struct {
	cpu, wall float64
	allocs    float64
}

// BenchmarkRateLimit runs the same requests through every candidate, then
// prints how many times apiguard is faster than each peer (peer / apiguard),
// in CPU time and in wall time, from the final run of each.
func BenchmarkRateLimit(b *testing.B) {
	results := map[string]result{}
	for _, c := range candidates() {
		b.Run(c.name, func(b *testing.B) { results[c.name] = run(b, c.h(b)) })
	}
	base, ok := results["apiguard"]
	if !ok || base.cpu == 0 {
		return
	}
	fmt.Printf("\nrate-limit middleware, allowed path, %d clients; ratio = peer / apiguard\n", clients)
	for _, c := range candidates() {
		r := results[c.name]
		fmt.Printf("  %-20s %7.0f cpu-ns/op %7.0f ns/op %5.1f allocs/op   cpu ratio %5.2fx   wall ratio %5.2fx\n",
			c.name, r.cpu, r.wall, r.allocs, r.cpu/base.cpu, r.wall/base.wall)
	}
}
