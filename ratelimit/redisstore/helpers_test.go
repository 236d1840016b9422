package redisstore

import (
	"context"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apiguard/apiguard/ratelimit"
)

// t0 is a fixed instant for the now argument, which these stores ignore.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// testKey returns a store key spread like an HMAC output.
func testKey(i uint64) [32]byte {
	var k [32]byte
	binary.LittleEndian.PutUint64(k[:], i)
	binary.LittleEndian.PutUint64(k[24:], i*0x9E3779B97F4A7C15)
	return k
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

func newReq(remote, ua string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = remote
	r.Header.Set("User-Agent", ua)
	return r
}

func mustIdentifier(t testing.TB, c ratelimit.IdentityConfig) *ratelimit.Identifier {
	t.Helper()
	id, err := ratelimit.NewIdentifier(c)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func newLimiter(t testing.TB, c ratelimit.Config) *ratelimit.Limiter {
	t.Helper()
	l, err := ratelimit.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// concurrentExact runs 1,000 goroutines against one key and returns how many
// were allowed.
func concurrentExact(t *testing.T, s ratelimit.Store, l ratelimit.Limit) int64 {
	var allowed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 1000 {
		wg.Go(func() {
			<-start
			d, err := s.Allow(context.Background(), testKey(7), l, t0, 1)
			if err != nil {
				t.Error(err)
				return
			}
			if d.Allowed {
				allowed.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	return allowed.Load()
}
