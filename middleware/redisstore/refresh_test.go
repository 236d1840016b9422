package redisstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/apiguard/apiguard/middleware/redisstore"
	"github.com/apiguard/apiguard/middleware/token"
	"github.com/redis/go-redis/v9"
)

func newRefresh(t testing.TB, c redis.UniversalClient, prefix string) *token.RefreshTokens {
	t.Helper()
	st, err := redisstore.NewRefreshStore(c, redisstore.RefreshStoreOptions{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := token.NewRefreshTokens(token.RefreshConfig{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// allKeys returns the keys matching pattern ("*" when empty).
func allKeys(t *testing.T, c redis.UniversalClient, pattern ...string) []string {
	t.Helper()
	match := "*"
	if len(pattern) > 0 {
		match = pattern[0]
	}
	keys, err := c.Keys(context.Background(), match).Result()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestRefreshStoreKeys checks the key layout: every key under the prefix,
// the family in one hash-tagged key, and a TTL on every key that ends with
// the family.
func TestRefreshStoreKeys(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s.Addr)
	ctx := context.Background()
	rt := newRefresh(t, c, "")
	tok, fam, err := rt.Start(ctx, "alice", []string{"user"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := rt.Rotate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	keys := allKeys(t, c)
	if len(keys) != 4 { // the family, its sealed successor and two token indexes
		t.Fatalf("keys %v, want 4", keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, redisstore.DefaultPrefix) {
			t.Errorf("key %q outside the prefix", k)
		}
		if strings.Contains(k, tok) {
			t.Errorf("key %q contains the token", k)
		}
		ttl, err := c.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl <= 0 || ttl > token.DefaultFamilyTTL {
			t.Errorf("key %q has TTL %v, want (0, %v]", k, ttl, token.DefaultFamilyTTL)
		}
		if strings.HasPrefix(k, redisstore.DefaultPrefix+"rs:") && ttl > token.DefaultRetryWindow {
			t.Errorf("sealed successor %q kept %v, longer than the retry window", k, ttl)
		}
		if v, _ := c.Get(ctx, k).Result(); strings.Contains(v, tok) {
			t.Errorf("key %q stores the token", k)
		}
	}
	if n, _ := c.Exists(ctx, redisstore.DefaultPrefix+"rs:{"+fam.ID+"}").Result(); n != 1 {
		t.Fatal("sealed successor key missing, or not under the family's hash tag")
	}
	famKey := redisstore.DefaultPrefix + "rf:{" + fam.ID + "}"
	if n, _ := c.Exists(ctx, famKey).Result(); n != 1 {
		t.Fatalf("family key %q missing", famKey)
	}
	vals, _ := c.HGetAll(ctx, famKey).Result()
	for f, v := range vals {
		if strings.Contains(f, tok) || strings.Contains(v, tok) {
			t.Fatalf("family hash stores the token in %s", f)
		}
	}
}

// TestRefreshReplaysDoNotGrowRedis: retries within the window and replays
// after it must not make Redis hold more keys (the new token's index key
// written before the spend script is removed when the script does not
// install it).
func TestRefreshReplaysDoNotGrowRedis(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s.Addr)
	ctx := context.Background()
	rt := newRefresh(t, c, "")
	tok, _, err := rt.Start(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	next, _, err := rt.Rotate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	n := len(allKeys(t, c))
	for range 100 { // retries: the same successor each time
		if again, _, err := rt.Rotate(ctx, tok); err != nil || again != next {
			t.Fatalf("retry: %v", err)
		}
	}
	if got := len(allKeys(t, c)); got != n {
		t.Fatalf("%d keys after 100 retries, %d before", got, n)
	}
	if _, _, err := rt.Rotate(ctx, next); err != nil {
		t.Fatal(err)
	}
	n = len(allKeys(t, c))
	for range 100 { // the first is reuse, the rest hit a revoked family
		if _, _, err := rt.Rotate(ctx, tok); !errors.Is(err, token.ErrInvalidGrant) {
			t.Fatal(err)
		}
	}
	if got := len(allKeys(t, c)); got != n-1 { // the sealed successor is dropped with the family
		t.Fatalf("%d keys after 100 replays, %d before", got, n)
	}
}

// TestRefreshRaceAcrossInstances: two instances (two clients, two stores)
// racing on one token; exactly one spend installs a successor, and every
// racer gets that one successor (none is refused: a concurrent presentation
// is indistinguishable from a retry within the window).
func TestRefreshRaceAcrossInstances(t *testing.T) {
	s := redistest.Start(t)
	ctx := context.Background()
	rts := []*token.RefreshTokens{
		newRefresh(t, newClient(t, s.Addr), ""),
		newRefresh(t, newClient(t, s.Addr), ""),
	}
	for round := range 5 {
		tok, _, err := rts[0].Start(ctx, "racer", nil)
		if err != nil {
			t.Fatal(err)
		}
		var wins, refused atomic.Int64
		var mu sync.Mutex
		successors := map[string]bool{}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				next, _, err := rts[i%2].Rotate(ctx, tok)
				if err == nil {
					wins.Add(1)
					mu.Lock()
					successors[next] = true
					mu.Unlock()
				} else if errors.Is(err, token.ErrInvalidGrant) {
					refused.Add(1)
				} else {
					t.Error(err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if wins.Load() != 50 || refused.Load() != 0 || len(successors) != 1 {
			t.Fatalf("round %d: %d successes, %d refused, %d different successors; want 50, 0 and 1",
				round, wins.Load(), refused.Load(), len(successors))
		}
	}
}

// TestRefreshSurvivesScriptFlush: after SCRIPT FLUSH (or a Redis restart)
// EVALSHA answers NOSCRIPT and the store falls back to EVAL.
func TestRefreshSurvivesScriptFlush(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s.Addr)
	ctx := context.Background()
	rt := newRefresh(t, c, "")
	tok, _, err := rt.Start(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := rt.Rotate(ctx, tok); err != nil {
		t.Fatalf("rotate after SCRIPT FLUSH: %v", err)
	}
}

func TestRefreshPrefixIsolation(t *testing.T) {
	s := redistest.Start(t)
	c := newClient(t, s.Addr)
	ctx := context.Background()
	a, b := newRefresh(t, c, "tenant-a:"), newRefresh(t, c, "tenant-b:")
	tok, _, err := a.Start(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Rotate(ctx, tok); !errors.Is(err, token.ErrInvalidGrant) {
		t.Fatalf("token of prefix a accepted under prefix b: %v", err)
	}
}

func TestNewRefreshStoreErrors(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	tests := []struct {
		name    string
		client  redis.UniversalClient
		prefix  string
		breaker redisstore.BreakerOptions
		want    string
	}{
		{"nil client", nil, "", redisstore.BreakerOptions{}, "client"},
		{"nil *redis.Client", (*redis.Client)(nil), "", redisstore.BreakerOptions{}, "client"},
		{"brace in prefix", c, "app{1}:", redisstore.BreakerOptions{}, "Prefix"},
		{"negative breaker threshold", c, "", redisstore.BreakerOptions{Threshold: -1}, "RefreshStoreOptions.Breaker: Threshold"},
		{"negative probe interval", c, "", redisstore.BreakerOptions{ProbeInterval: -1}, "RefreshStoreOptions.Breaker"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := redisstore.NewRefreshStore(tc.client, redisstore.RefreshStoreOptions{Prefix: tc.prefix, Breaker: tc.breaker})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %s", err, tc.want)
			}
		})
	}
}

func BenchmarkRefreshRotate(b *testing.B) {
	ctx := context.Background()
	stores := map[string]func(b *testing.B) token.RefreshStore{
		"memory": func(*testing.B) token.RefreshStore { return token.NewMemoryRefreshStore(nil) },
		"redis": func(b *testing.B) token.RefreshStore {
			s := redistest.Start(b)
			st, err := redisstore.NewRefreshStore(newClient(b, s.Addr), redisstore.RefreshStoreOptions{})
			if err != nil {
				b.Fatal(err)
			}
			return st
		},
	}
	for _, name := range []string{"memory", "redis"} {
		b.Run(name, func(b *testing.B) {
			rt, err := token.NewRefreshTokens(token.RefreshConfig{Store: stores[name](b), FamilyTTL: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			tok, _, err := rt.Start(ctx, "bench", []string{"user"})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if tok, _, err = rt.Rotate(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
