package redisstore_test

import (
	"context"
	"testing"

	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/apiguard/apiguard/middleware/redisstore"
	"github.com/redis/go-redis/v9"
)

func TestCheckPersistence(t *testing.T) {
	// The nodes of a redistest cluster run with --save "" --appendonly no
	// and a --dir of the test's own, where turning AOF on writes its files
	// (the dir of a redistest.Start server is protected config). The first
	// cases ask one node through a plain client.
	cl := redistest.StartCluster(t, 3)
	ctx := context.Background()
	admin := newClient(t, cl.Addrs[0])
	// A user that may do everything but CONFIG, as on a managed Redis.
	if err := admin.Do(ctx, "ACL", "SETUSER", "noconfig", "on", ">pw", "~*", "&*", "+@all", "-config").Err(); err != nil {
		t.Fatal(err)
	}
	limited := redis.NewClient(&redis.Options{Addr: cl.Addrs[0], Username: "noconfig", Password: "pw"})
	t.Cleanup(func() { _ = limited.Close() })
	tests := []struct {
		name   string
		config []string // CONFIG SET arguments applied first
		client redis.UniversalClient
		want   redisstore.Persistence
	}{
		{"none", nil, admin, redisstore.Persistence{}},
		{"RDB", []string{"save", "3600 1"}, admin, redisstore.Persistence{RDB: true}},
		{"RDB and AOF", []string{"appendonly", "yes"}, admin, redisstore.Persistence{RDB: true, AOF: true}},
		{"AOF, CONFIG refused", nil, limited, redisstore.Persistence{AOF: true, RDBUnknown: true}},
		{"nothing, CONFIG refused", []string{"appendonly", "no"}, limited, redisstore.Persistence{RDBUnknown: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.config != nil {
				if err := admin.ConfigSet(ctx, tc.config[0], tc.config[1]).Err(); err != nil {
					t.Fatal(err)
				}
			}
			got, err := redisstore.CheckPersistence(ctx, tc.client)
			if err != nil || got != tc.want {
				t.Fatalf("CheckPersistence = %+v, %v; want %+v", got, err, tc.want)
			}
			if got.Durable() != (tc.want.AOF || tc.want.RDB) {
				t.Fatalf("Durable = %v", got.Durable())
			}
		})
	}
	t.Run("cluster: every master counts", func(t *testing.T) {
		cc := newClusterClient(t, cl)
		for _, n := range cl.Nodes() {
			for _, kv := range [][2]string{{"save", ""}, {"appendonly", "no"}} {
				if _, err := n.Command("CONFIG", "SET", kv[0], kv[1]); err != nil {
					t.Fatal(err)
				}
			}
		}
		if got, err := redisstore.CheckPersistence(ctx, cc); err != nil || got.Durable() {
			t.Fatalf("cluster without persistence: %+v, %v", got, err)
		}
		for i, n := range cl.Nodes() {
			if i == 0 {
				continue // one master left without AOF
			}
			if _, err := n.Command("CONFIG", "SET", "appendonly", "yes"); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := redisstore.CheckPersistence(ctx, cc); err != nil || got.AOF {
			t.Fatalf("one master without AOF: %+v, %v; want AOF false", got, err)
		}
		if _, err := cl.Nodes()[0].Command("CONFIG", "SET", "appendonly", "yes"); err != nil {
			t.Fatal(err)
		}
		if got, err := redisstore.CheckPersistence(ctx, cc); err != nil || !got.AOF {
			t.Fatalf("every master with AOF: %+v, %v", got, err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
		t.Cleanup(func() { _ = c.Close() })
		if _, err := redisstore.CheckPersistence(ctx, c); err == nil {
			t.Fatal("no error from an unreachable Redis")
		}
	})
}
