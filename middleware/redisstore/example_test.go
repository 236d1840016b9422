package redisstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/apiguard/apiguard/middleware"
	"github.com/apiguard/apiguard/middleware/redisstore"
	"github.com/redis/go-redis/v9"
)

// Each instance of a deployment builds its own list on the shared Redis; a
// revocation made on one is enforced by all, while IsRevoked never waits on
// Redis. (It needs a Redis, so it is compiled but not run by go test; the
// same steps run against a real redis-server in TestRevocationPropagates.)
func ExampleNewRevocationList() {
	ctx := context.Background()
	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer client.Close()

	var list middleware.RevocationList
	rl, err := redisstore.NewRevocationList(ctx, client, redisstore.RevocationOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rl.Close()
	list = rl

	exp := time.Now().Add(15 * time.Minute)
	if err := list.RevokeToken(ctx, "https://issuer.example", "jti-123", exp); err != nil {
		fmt.Println(err)
		return
	}
	revoked, err := list.IsRevoked("https://issuer.example", "jti-123", "alice", time.Now())
	fmt.Println("revoked:", revoked && err == nil)
}
