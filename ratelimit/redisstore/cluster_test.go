package redisstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/apiguard/apiguard/ratelimit"
)

// TestStoresOnCluster runs the limiter store, the guard store and the shared
// secret on a real three-master Redis Cluster, through a ClusterClient, with
// keys spread over every master: each decision is one script on the key's
// own slot (a script touching keys in two slots would fail with CROSSSLOT),
// and the answers are exact.
func TestStoresOnCluster(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs})
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	now := time.Now()

	t.Run("limiter", func(t *testing.T) {
		st := newLimiterStore(t, c)
		lim := ratelimit.Limit{Rate: 3, Period: time.Minute, Burst: 3}
		const keys = 64 // enough to land on every master
		for i := uint64(0); i < keys; i++ {
			for n := 0; n < 4; n++ {
				d, err := st.Allow(ctx, testKey(i), lim, now, 1)
				if err != nil {
					t.Fatalf("key %d request %d: %v", i, n, err)
				}
				if want := n < 3; d.Allowed != want {
					t.Fatalf("key %d request %d: allowed %v, want %v (%+v)", i, n, d.Allowed, want, d)
				}
			}
		}
		masters := 0
		for _, n := range cl.Nodes() {
			size, err := n.Command("DBSIZE") // an integer reply, ":<n>"
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimPrefix(size, ":") != "0" {
				masters++
			}
		}
		if masters != 3 {
			t.Fatalf("limiter keys on %d of 3 masters; the test must spread them", masters)
		}
	})

	t.Run("guard", func(t *testing.T) {
		st, err := NewGuardStore(c, Options{Prefix: "test"})
		if err != nil {
			t.Fatal(err)
		}
		lim := ratelimit.Limit{Rate: 2, Period: time.Minute, Burst: 2}
		p := ratelimit.Lockout{Base: time.Minute, Max: time.Hour, Memory: time.Hour}
		for i := uint64(100); i < 132; i++ {
			key := testKey(i)
			var started time.Duration
			for n := 0; n < 3 && started == 0; n++ {
				if started, err = st.Fail(ctx, key, lim, p, now); err != nil {
					t.Fatalf("key %d fail %d: %v", i, n, err)
				}
			}
			if started <= 0 {
				t.Fatalf("key %d: no lockout after 3 failures under a limit of 2", i)
			}
			if d, err := st.Locked(ctx, key, now); err != nil || d <= 0 {
				t.Fatalf("key %d: Locked = %v, %v; want a lockout", i, d, err)
			}
			if err := st.Reset(ctx, key); err != nil {
				t.Fatal(err)
			}
			if d, err := st.Locked(ctx, key, now); err != nil || d != 0 {
				t.Fatalf("key %d after Reset: Locked = %v, %v", i, d, err)
			}
		}
	})

	t.Run("shared secret", func(t *testing.T) {
		other := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs[1:]})
		t.Cleanup(func() { _ = other.Close() })
		a, err := SharedSecret(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		b, err := SharedSecret(ctx, other)
		if err != nil || string(a) != string(b) {
			t.Fatalf("two cluster clients got different secrets (%v)", err)
		}
	})
}
