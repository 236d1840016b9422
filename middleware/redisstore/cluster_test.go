package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/apiguard/apiguard/middleware/redisstore"
	"github.com/apiguard/apiguard/middleware/token"
	"github.com/redis/go-redis/v9"
)

func newClusterClient(t *testing.T, c *redistest.Cluster) *redis.ClusterClient {
	t.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// TestRevocationOnCluster: on a real 3-master Redis Cluster, revocations of
// every kind are stored (single-slot script), announced to a second
// instance, loaded at start by a third (SCAN on the master owning the
// list's slot, MGET within it), and a resync picks up an entry it was never
// told about.
func TestRevocationOnCluster(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	ctx := context.Background()
	a := newList(t, newClusterClient(t, cl), redisstore.RevocationOptions{})
	b := newList(t, newClusterClient(t, cl), redisstore.RevocationOptions{ResyncInterval: 100 * time.Millisecond})
	now := time.Now()
	revocations := []struct {
		name          string
		revoke        func() error
		jti, sub, sid string
		iat           time.Time
	}{
		{"token", func() error { return a.RevokeToken(ctx, iss, "jti-c", now.Add(time.Hour)) }, "jti-c", "", "", now},
		{"session", func() error { return a.RevokeSession(ctx, iss, "fam-c", now.Add(time.Hour)) }, "", "", "fam-c", now},
		{"subject", func() error { return a.RevokeSubject(ctx, iss, "carol", now, now.Add(time.Hour)) }, "", "carol", "", now.Add(-time.Second)},
	}
	for _, tc := range revocations {
		t.Run("pub/sub/"+tc.name, func(t *testing.T) {
			if err := tc.revoke(); err != nil {
				t.Fatalf("revoking on a cluster: %v", err)
			}
			eventually(t, 2*time.Second, "seen by the second instance", func() bool {
				ok, err := b.IsRevoked(iss, tc.jti, tc.sub, tc.sid, tc.iat)
				return ok && err == nil
			})
		})
	}
	t.Run("loaded at start", func(t *testing.T) {
		c := newList(t, newClusterClient(t, cl), redisstore.RevocationOptions{})
		for _, tc := range revocations {
			if ok, err := c.IsRevoked(iss, tc.jti, tc.sub, tc.sid, tc.iat); !ok || err != nil {
				t.Fatalf("%s not loaded from the cluster: %v, %v", tc.name, ok, err)
			}
		}
	})
	t.Run("resync", func(t *testing.T) {
		awaitResync(t, newClusterClient(t, cl), b, "never-announced")
	})
	t.Run("one slot", func(t *testing.T) {
		cc := newClusterClient(t, cl)
		slots := map[int64]bool{}
		err := cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			keys, err := node.Keys(ctx, "{apiguard:rv}:*").Result()
			for _, k := range keys {
				slot, err := cc.ClusterKeySlot(ctx, k).Result()
				if err != nil {
					return err
				}
				slots[slot] = true
			}
			return err
		})
		if err != nil || len(slots) != 1 {
			t.Fatalf("revocation keys in %d slots (%v), want 1", len(slots), err)
		}
	})
}

// TestRefreshOnCluster: a family's life on a real Redis Cluster, whose keys
// spread across masters: start, rotate, retry, reuse, revoke.
func TestRefreshOnCluster(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	rt := newRefresh(t, newClusterClient(t, cl), "")
	ctx := context.Background()
	for i := range 10 { // enough families to land on every master
		t.Run("family", func(t *testing.T) {
			t0, fam, err := rt.Start(ctx, "user", []string{"user"})
			if err != nil {
				t.Fatalf("start %d: %v", i, err)
			}
			t1, _, err := rt.Rotate(ctx, t0)
			if err != nil {
				t.Fatalf("rotate: %v", err)
			}
			if again, _, err := rt.Rotate(ctx, t0); err != nil || again != t1 {
				t.Fatalf("retry: %v", err)
			}
			t2, _, err := rt.Rotate(ctx, t1)
			if err != nil {
				t.Fatalf("rotate the successor: %v", err)
			}
			if _, _, err := rt.Rotate(ctx, t0); !errors.Is(err, token.ErrRefreshReuse) {
				t.Fatalf("reuse: %v", err)
			}
			if _, _, err := rt.Rotate(ctx, t2); !errors.Is(err, token.ErrInvalidGrant) {
				t.Fatalf("family alive after reuse: %v", err)
			}
			t3, fam2, err := rt.Start(ctx, "user", nil)
			if err != nil {
				t.Fatal(err)
			}
			if fam2.ID == fam.ID {
				t.Fatal("family id reused")
			}
			if err := rt.RevokeFamily(ctx, fam2.ID); err != nil {
				t.Fatalf("revoke: %v", err)
			}
			if _, _, err := rt.Rotate(ctx, t3); !errors.Is(err, token.ErrInvalidGrant) {
				t.Fatalf("revoked family: %v", err)
			}
		})
	}
}
