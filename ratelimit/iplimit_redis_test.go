package ratelimit_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/apiguard/apiguard/ratelimit"
	"github.com/apiguard/apiguard/ratelimit/redisstore"
	"github.com/redis/go-redis/v9"
)

// The IP ceiling holds on a real Redis shared by two limiters (two
// instances): one IP rotating its User-Agent across both gets exactly the
// ceiling's budget, and another IP is unaffected. The period is a day, so
// Redis's clock refills nothing while the test runs.
func TestIPCeilingOnRedis(t *testing.T) {
	rs := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	st, err := redisstore.NewLimiterStore(rdb, redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	var hs []http.Handler
	for range 2 {
		id := ratelimit.MustNewIdentifier(ratelimit.IdentityConfig{Secret: secret})
		l := ratelimit.MustNew(ratelimit.Config{Store: st, Identifier: id, Limit: ratelimit.Limit{Rate: 5, Period: 24 * time.Hour}})
		hs = append(hs, id.Handler(l.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))))
	}
	flood := func(remote string, n int) (allowed int) {
		for i := range n {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = remote
			r.Header.Set("User-Agent", "agent/"+strconv.Itoa(i))
			rec := httptest.NewRecorder()
			hs[i%2].ServeHTTP(rec, r)
			switch rec.Code {
			case http.StatusOK:
				allowed++
			case http.StatusTooManyRequests:
			default:
				t.Fatalf("request %d: status %d", i, rec.Code)
			}
		}
		return allowed
	}
	if got := flood("192.0.2.1:1", 500); got != 50 {
		t.Fatalf("one IP rotating 500 agents over two instances: %d allowed, want the ceiling, 50", got)
	}
	if got := flood("192.0.2.2:1", 20); got != 20 {
		t.Fatalf("another IP: %d of 20 allowed", got)
	}
}
