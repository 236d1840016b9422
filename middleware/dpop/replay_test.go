package dpop

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMemoryReplayCache(t *testing.T) {
	ctx := context.Background()
	now := t0
	c := NewMemoryReplayCache(4)
	c.Now = func() time.Time { return now }
	exp := t0.Add(time.Minute)
	for _, tt := range []struct {
		jkt, jti string
		exp      time.Time
		want     error
	}{
		{"k", "1", exp, nil},
		{"k", "1", exp, ErrReplay},
		{"k", "1", exp.Add(time.Hour), ErrReplay},
		{"k2", "1", exp, nil},                // same jti, another key
		{"k", "2", exp, nil},                 // same key, another jti
		{"ab", "c", exp, nil},                // framing: ("ab","c") is not ("a","bc")
		{"a", "bc", exp, ErrReplayCacheFull}, // 4 live entries: full, fail closed
		{"k", "old", t0, nil},                // expired already: nothing to record
		{"k", "old", t0, nil},
	} {
		if err := c.Use(ctx, tt.jkt, tt.jti, tt.exp); !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
			t.Fatalf("Use(%q, %q) = %v, want %v", tt.jkt, tt.jti, err, tt.want)
		}
	}
	// Full: every live entry is still remembered, none evicted.
	for _, p := range [][2]string{{"k", "1"}, {"k2", "1"}, {"k", "2"}, {"ab", "c"}} {
		if err := c.Use(ctx, p[0], p[1], exp); !errors.Is(err, ErrReplay) {
			t.Fatalf("full cache forgot %v: %v", p, err)
		}
	}
	// Once they expire there is room again, and a replay of an expired
	// entry is fresh.
	now = exp
	if err := c.Use(ctx, "a", "bc", exp.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := c.Use(ctx, "k", "1", exp.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := c.Use(ctx, "k", "1", exp.Add(time.Minute)); !errors.Is(err, ErrReplay) {
		t.Fatal(err)
	}
}

// TestMemoryReplayCacheModel runs random uses against a map: every answer
// must be the model's, through growth, sweeps and reuse of expired slots,
// and the cache must be full exactly when the model holds max live pairs.
func TestMemoryReplayCacheModel(t *testing.T) {
	for _, max := range []int{1, 7, 100, 5000} {
		t.Run(strconv.Itoa(max), func(t *testing.T) {
			ctx := context.Background()
			now := t0
			c := NewMemoryReplayCache(max)
			c.Now = func() time.Time { return now }
			model := map[string]time.Time{}
			rng := rand.New(rand.NewPCG(1, uint64(max)))
			for i := 0; i < 40*max+2000; i++ {
				now = now.Add(time.Duration(rng.IntN(20)) * time.Millisecond)
				jti := strconv.Itoa(rng.IntN(3 * max))
				exp := now.Add(time.Duration(1+rng.IntN(2000)) * time.Millisecond)
				live := 0
				for k, e := range model {
					if e.After(now) {
						live++
					} else {
						delete(model, k)
					}
				}
				var want error
				if e, ok := model[jti]; ok && e.After(now) {
					want = ErrReplay
				} else if live >= max && len(c.shards) == 1 {
					want = ErrReplayCacheFull
				}
				err := c.Use(ctx, "jkt", jti, exp)
				if len(c.shards) > 1 && errors.Is(err, ErrReplayCacheFull) {
					want = ErrReplayCacheFull // a shard fills at its share
				}
				if !errors.Is(err, want) || (err == nil) != (want == nil) {
					t.Fatalf("step %d: Use(%s) = %v, want %v (live %d)", i, jti, err, want, live)
				}
				if err == nil {
					model[jti] = exp
				}
			}
		})
	}
}

func TestMemoryReplayCacheShards(t *testing.T) {
	c := NewMemoryReplayCache(0)
	total := 0
	for i := range c.shards {
		total += c.shards[i].limit
		if c.shards[i].slots != nil {
			t.Fatal("memory allocated before use")
		}
	}
	if len(c.shards) != 64 || total != DefaultReplayCacheSize {
		t.Fatalf("%d shards holding %d", len(c.shards), total)
	}
}

func TestMemoryReplayCacheConcurrent(t *testing.T) {
	c := NewMemoryReplayCache(1 << 14)
	exp := time.Now().Add(time.Hour)
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := map[string]int{}
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				jti := strconv.Itoa(i)
				if err := c.Use(context.Background(), "k", jti, exp); err == nil {
					mu.Lock()
					fresh[jti]++
					mu.Unlock()
				} else if !errors.Is(err, ErrReplay) {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for jti, n := range fresh {
		if n != 1 {
			t.Fatalf("jti %s accepted %d times", jti, n)
		}
	}
	if len(fresh) != 2000 {
		t.Fatalf("%d fresh, want 2000", len(fresh))
	}
}

func TestMemoryReplayCacheAllocs(t *testing.T) {
	c := NewMemoryReplayCache(1 << 10)
	now := t0
	c.Now = func() time.Time { return now }
	jtis := make([]string, 256)
	for i := range jtis {
		jtis[i] = strconv.Itoa(i)
	}
	ctx := context.Background()
	i := 0
	n := testing.AllocsPerRun(10000, func() {
		now = now.Add(time.Millisecond)
		c.Use(ctx, "jkt", jtis[i%len(jtis)], now.Add(100*time.Millisecond))
		i++
	})
	if n != 0 {
		t.Fatalf("%v allocations per Use, want 0", n)
	}
}

// TestMemoryReplayCacheLongPair checks pairs too long for the stack buffer
// (the streaming hash) are remembered too, and framed apart.
func TestMemoryReplayCacheLongPair(t *testing.T) {
	c := NewMemoryReplayCache(16)
	exp := time.Now().Add(time.Hour)
	long := strings.Repeat("j", 1000)
	ctx := context.Background()
	for _, p := range [][2]string{{"k", long}, {"k" + long[:1], long[1:]}, {long, "x"}} {
		if err := c.Use(ctx, p[0], p[1], exp); err != nil {
			t.Fatal(err)
		}
		if err := c.Use(ctx, p[0], p[1], exp); !errors.Is(err, ErrReplay) {
			t.Fatalf("long pair replayed: %v", err)
		}
	}
}
