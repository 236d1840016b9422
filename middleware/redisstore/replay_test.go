package redisstore_test

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/breaker/breakertest"
	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/apiguard/apiguard/middleware/dpop"
	"github.com/apiguard/apiguard/middleware/redisstore"
	"github.com/redis/go-redis/v9"
)

func newReplay(t testing.TB, c redis.UniversalClient, opts redisstore.DPoPReplayOptions) *redisstore.DPoPReplayCache {
	t.Helper()
	rc, err := redisstore.NewDPoPReplayCache(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// setCalls is how many SET commands the server has run.
func setCalls(t *testing.T, s *redistest.Server) int {
	t.Helper()
	n, err := s.CommandCalls("set")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDPoPReplayAcrossInstances: two instances (two clients, two caches,
// one redis-server). A proof is accepted once: refused again on the
// instance that saw it, without a Redis command (its front knows it), and
// on the other instance, which asks Redis. The pair is per key: the same
// jti under another key is another proof.
func TestDPoPReplayAcrossInstances(t *testing.T) {
	s := redistest.Start(t)
	ctx := redistest.Context(t, 10*time.Second)
	a := newReplay(t, newClient(t, s.Addr), redisstore.DPoPReplayOptions{})
	b := newReplay(t, newClient(t, s.Addr), redisstore.DPoPReplayOptions{})
	exp := time.Now().Add(time.Minute)

	if err := a.Use(ctx, jktA, "jti-1", exp); err != nil {
		t.Fatalf("fresh proof: %v", err)
	}
	sets := setCalls(t, s)
	for range 10 {
		if err := a.Use(ctx, jktA, "jti-1", exp); !errors.Is(err, dpop.ErrReplay) {
			t.Fatalf("replay on the same instance: %v, want ErrReplay", err)
		}
	}
	if n := setCalls(t, s) - sets; n != 0 {
		t.Fatalf("10 replays known locally sent %d SETs, want 0", n)
	}
	if err := b.Use(ctx, jktA, "jti-1", exp); !errors.Is(err, dpop.ErrReplay) {
		t.Fatalf("replay on another instance: %v, want ErrReplay", err)
	}
	if n := setCalls(t, s) - sets; n != 1 {
		t.Fatalf("a replay unknown locally sent %d SETs, want 1", n)
	}
	if err := b.Use(ctx, jktB, "jti-1", exp); err != nil {
		t.Fatalf("same jti, another key: %v", err)
	}
	if err := a.Use(ctx, jktB, "jti-1", exp); !errors.Is(err, dpop.ErrReplay) {
		t.Fatalf("that proof again on the first instance: %v", err)
	}
	if err := a.Use(ctx, jktA, "jti-2", exp); err != nil {
		t.Fatalf("another jti: %v", err)
	}
}

// TestDPoPReplayRace: 50 presentations of one proof racing on two
// instances: exactly one is accepted.
func TestDPoPReplayRace(t *testing.T) {
	s := redistest.Start(t)
	ctx := redistest.Context(t, 10*time.Second)
	caches := []*redisstore.DPoPReplayCache{
		newReplay(t, newClient(t, s.Addr), redisstore.DPoPReplayOptions{}),
		newReplay(t, newClient(t, s.Addr), redisstore.DPoPReplayOptions{}),
	}
	exp := time.Now().Add(time.Minute)
	for round := range 5 {
		jti := "race-" + strconv.Itoa(round)
		var fresh, replays atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 50 {
			wg.Go(func() {
				<-start
				switch err := caches[i%2].Use(ctx, jktA, jti, exp); {
				case err == nil:
					fresh.Add(1)
				case errors.Is(err, dpop.ErrReplay):
					replays.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
		if fresh.Load() != 1 || replays.Load() != 49 {
			t.Fatalf("round %d: %d accepted, %d replays; want 1 and 49", round, fresh.Load(), replays.Load())
		}
	}
}

// TestDPoPReplayExpiry: the key expires at the proof's window end (PXAT,
// rounded up to the millisecond), and the pair is fresh again after it on
// both instances; an expiry already past is refused, never "fresh".
func TestDPoPReplayExpiry(t *testing.T) {
	s := redistest.Start(t)
	ctx := redistest.Context(t, 10*time.Second)
	c := newClient(t, s.Addr)
	a := newReplay(t, c, redisstore.DPoPReplayOptions{Prefix: "exp:"})
	b := newReplay(t, newClient(t, s.Addr), redisstore.DPoPReplayOptions{Prefix: "exp:"})
	exp := time.Now().Add(300 * time.Millisecond).Truncate(time.Millisecond).Add(400 * time.Microsecond)
	if err := a.Use(ctx, jktA, "short", exp); err != nil {
		t.Fatal(err)
	}
	keys := allKeys(t, c, "exp:dpop:*")
	if len(keys) != 1 {
		t.Fatalf("keys %v, want one", keys)
	}
	at, err := c.PExpireTime(ctx, keys[0]).Result()
	if err != nil {
		t.Fatal(err)
	}
	if want := exp.Truncate(time.Millisecond).Add(time.Millisecond); at != time.Duration(want.UnixMilli())*time.Millisecond {
		t.Fatalf("key expires at %d ms, want %d (the expiry rounded up)", at/time.Millisecond, want.UnixMilli())
	}
	if err := b.Use(ctx, jktA, "short", exp); !errors.Is(err, dpop.ErrReplay) {
		t.Fatalf("before expiry, other instance: %v", err)
	}
	time.Sleep(time.Until(exp) + 5*time.Millisecond)
	later := time.Now().Add(time.Minute)
	if err := b.Use(ctx, jktA, "short", later); err != nil {
		t.Fatalf("after expiry, other instance: %v", err)
	}
	if err := a.Use(ctx, jktA, "short", later); !errors.Is(err, dpop.ErrReplay) {
		t.Fatalf("recorded again after expiry, first instance: %v", err)
	}

	sets := setCalls(t, s)
	for _, past := range []time.Time{time.Now(), time.Now().Add(-time.Second), {}} {
		err := a.Use(ctx, jktA, "stale-"+past.String(), past)
		if err == nil || errors.Is(err, dpop.ErrReplay) {
			t.Fatalf("expiry %v: %v, want an error other than ErrReplay", past, err)
		}
	}
	if n := setCalls(t, s) - sets; n != 0 {
		t.Fatalf("stale expiries sent %d SETs", n)
	}
}

// TestDPoPReplayKeys: whatever the proof carries, a key is the prefix and
// 64 hex digits, holding neither the thumbprint nor the jti, with a TTL.
func TestDPoPReplayKeys(t *testing.T) {
	s := redistest.Start(t)
	ctx := redistest.Context(t, 10*time.Second)
	c := newClient(t, s.Addr)
	rc := newReplay(t, c, redisstore.DPoPReplayOptions{})
	exp := time.Now().Add(time.Minute)
	jtis := []string{"plain", strings.Repeat("x", 64<<10), "{tag}", "new\nline\r\n*1\r\n$4\r\nPING", "\x00\xff"}
	for _, jti := range jtis {
		if err := rc.Use(ctx, jktA, jti, exp); err != nil {
			t.Fatalf("jti of %d bytes: %v", len(jti), err)
		}
	}
	// A pair is not another pair split elsewhere: (jkt, jti) = ("ab", "c")
	// and ("a", "bc") are two proofs.
	if err := rc.Use(ctx, "ab", "c", exp); err != nil {
		t.Fatal(err)
	}
	if err := rc.Use(ctx, "a", "bc", exp); err != nil {
		t.Fatalf("another split of the same bytes: %v", err)
	}
	keys := allKeys(t, c)
	if len(keys) != len(jtis)+2 {
		t.Fatalf("%d keys, want %d", len(keys), len(jtis)+2)
	}
	shape := regexp.MustCompile(`^apiguard:dpop:[0-9a-f]{64}$`)
	for _, k := range keys {
		if !shape.MatchString(k) {
			t.Errorf("key %q, want apiguard:dpop:<64 hex>", k)
		}
		if strings.Contains(k, jktA) || strings.Contains(k, "plain") {
			t.Errorf("key %q holds proof input", k)
		}
		if ttl, err := c.PTTL(ctx, k).Result(); err != nil || ttl <= 0 || ttl > time.Minute {
			t.Errorf("key %q TTL %v, %v", k, ttl, err)
		}
	}
}

// TestDPoPReplayFailsClosed: with Redis stopped, a proof the front does not
// know is refused with an error that is not ErrReplay (the gate answers
// 503), and one it knows is still a replay. After a restart the cache
// works again (a fresh Redis: the front alone remembers what came before).
func TestDPoPReplayFailsClosed(t *testing.T) {
	s := redistest.Start(t)
	ctx := redistest.Context(t, 20*time.Second)
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	rc := newReplay(t, c, redisstore.DPoPReplayOptions{Breaker: redisstore.BreakerOptions{Disabled: true}})
	exp := time.Now().Add(time.Minute)
	if err := rc.Use(ctx, jktA, "before", exp); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	for i := range 3 {
		err := rc.Use(ctx, jktA, "during-"+strconv.Itoa(i), exp)
		if err == nil || errors.Is(err, dpop.ErrReplay) {
			t.Fatalf("Redis down: %v, want an error other than ErrReplay", err)
		}
	}
	if err := rc.Use(ctx, jktA, "before", exp); !errors.Is(err, dpop.ErrReplay) {
		t.Fatalf("Redis down, a proof known locally: %v, want ErrReplay", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	s.Restart()
	if err := rc.Use(cancelled, jktA, "cancelled", exp); err == nil || errors.Is(err, dpop.ErrReplay) {
		t.Fatalf("cancelled context: %v, want an error other than ErrReplay", err)
	}
	if err := rc.Use(ctx, jktA, "after", exp); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
}

// TestDPoPReplayBreaker: once the breaker is open, proofs are refused at
// once (ErrCircuitOpen, not ErrReplay) without a dial; a probe closes it
// after the restart. Without the breaker the same calls dial.
func TestDPoPReplayBreaker(t *testing.T) {
	for _, disabled := range []bool{false, true} {
		t.Run(map[bool]string{false: "breaker", true: "no breaker"}[disabled], func(t *testing.T) {
			s := redistest.Start(t)
			ctx := redistest.Context(t, 30*time.Second)
			var dials breakertest.Dials
			drv := breakertest.NewDriver()
			c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, Dialer: dials.Dialer})
			t.Cleanup(func() { _ = c.Close() })
			rc := newReplay(t, c, redisstore.DPoPReplayOptions{
				Breaker: redisstore.BreakerOptions{Disabled: disabled, After: drv.After, OnChange: drv.OnChange}})
			exp := time.Now().Add(time.Minute)
			i := 0
			breakertest.FailFast(ctx, t, s, drv, disabled, dials.N,
				func(err error) bool {
					return errors.Is(err, redisstore.ErrCircuitOpen) && !errors.Is(err, dpop.ErrReplay)
				},
				func() error { i++; return rc.Use(ctx, jktA, "jti-"+strconv.Itoa(i), exp) })
		})
	}
}

// TestDPoPReplayOnCluster: on a real 3-master Redis Cluster, replays are
// refused across instances, and the keys spread over the masters.
func TestDPoPReplayOnCluster(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	ctx := redistest.Context(t, 20*time.Second)
	a := newReplay(t, newClusterClient(t, cl), redisstore.DPoPReplayOptions{})
	b := newReplay(t, newClusterClient(t, cl), redisstore.DPoPReplayOptions{})
	exp := time.Now().Add(time.Minute)
	for i := range 30 {
		jti := "c-" + strconv.Itoa(i)
		if err := a.Use(ctx, jktA, jti, exp); err != nil {
			t.Fatalf("fresh %s: %v", jti, err)
		}
		if err := b.Use(ctx, jktA, jti, exp); !errors.Is(err, dpop.ErrReplay) {
			t.Fatalf("replay of %s on another instance: %v", jti, err)
		}
	}
	cc := newClusterClient(t, cl)
	var mu sync.Mutex
	masters := 0
	err := cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		keys, err := node.Keys(ctx, "apiguard:dpop:*").Result()
		mu.Lock()
		if len(keys) > 0 {
			masters++
		}
		mu.Unlock()
		return err
	})
	if err != nil || masters < 2 {
		t.Fatalf("30 keys on %d masters (%v), want them spread", masters, err)
	}
}

func TestNewDPoPReplayCacheErrors(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	var nilClient *redis.Client
	tests := []struct {
		name   string
		client redis.UniversalClient
		opts   redisstore.DPoPReplayOptions
		want   string
	}{
		{"nil client", nil, redisstore.DPoPReplayOptions{}, "client is nil"},
		{"nil *redis.Client", nilClient, redisstore.DPoPReplayOptions{}, "client is nil"},
		{"brace in prefix", c, redisstore.DPoPReplayOptions{Prefix: "a{b}:"}, `DPoPReplayOptions.Prefix "a{b}:"`},
		{"negative threshold", c, redisstore.DPoPReplayOptions{Breaker: redisstore.BreakerOptions{Threshold: -1}}, "DPoPReplayOptions.Breaker"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := redisstore.NewDPoPReplayCache(tc.client, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// BenchmarkDPoPReplay: a replay the local front knows (no Redis command)
// against a fresh proof (one SET NX PXAT on a loopback redis-server).
func BenchmarkDPoPReplay(b *testing.B) {
	s := redistest.Start(b)
	ctx := context.Background()
	rc := newReplay(b, newClient(b, s.Addr), redisstore.DPoPReplayOptions{})
	exp := time.Now().Add(time.Hour)
	run := 0 // -count runs again on the same server
	b.Run("known locally", func(b *testing.B) {
		run++
		known := "known-" + strconv.Itoa(run)
		if err := rc.Use(ctx, jktA, known, exp); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := rc.Use(ctx, jktA, known, exp); !errors.Is(err, dpop.ErrReplay) {
				b.Fatal(err)
			}
		}
	})
	b.Run("fresh", func(b *testing.B) {
		run++
		jtis := make([]string, 0, 1<<16)
		for i := range cap(jtis) {
			jtis = append(jtis, "fresh-"+strconv.Itoa(i))
		}
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			if err := rc.Use(ctx, jktA, jtis[i%len(jtis)]+"-"+strconv.Itoa(run)+"-"+strconv.Itoa(i/len(jtis)), exp); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
