package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apiguard/apiguard/middleware"
	"github.com/apiguard/apiguard/middleware/dpop"
	"github.com/apiguard/apiguard/middleware/redisstore"
	"github.com/apiguard/apiguard/middleware/token"
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
	revoked, err := list.IsRevoked("https://issuer.example", "jti-123", "alice", "", time.Now())
	fmt.Println("revoked:", revoked && err == nil)
}

// Refresh-token families shared through Redis. A Redis that cannot be
// reached never turns into a success nor into invalid_grant: the error
// matches token.ErrStoreUnavailable, which the token endpoint answers with
// 503.
func ExampleNewRefreshStore() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1}) // a Redis that is down
	defer client.Close()
	store, err := redisstore.NewRefreshStore(client, redisstore.RefreshStoreOptions{})
	if err != nil {
		panic(err)
	}
	rt, err := token.NewRefreshTokens(token.RefreshConfig{Store: store})
	if err != nil {
		panic(err)
	}
	_, _, err = rt.Start(context.Background(), "alice", []string{"user"})
	fmt.Println("unavailable:", errors.Is(err, token.ErrStoreUnavailable), "invalid_grant:", errors.Is(err, token.ErrInvalidGrant))
	// Output:
	// unavailable: true invalid_grant: false
}

// Every instance of a deployment gives its DPoP verifier a replay cache on
// the shared Redis, so a proof accepted by one instance is refused by all.
// A Redis that cannot be reached never lets a proof through: the error is
// not dpop.ErrReplay, and the verifier answers 503.
func ExampleNewDPoPReplayCache() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1}) // a Redis that is down
	defer client.Close()
	replay, err := redisstore.NewDPoPReplayCache(client, redisstore.DPoPReplayOptions{})
	if err != nil {
		panic(err)
	}
	verifier, err := dpop.New(dpop.Config{Replay: replay})
	if err != nil {
		panic(err)
	}
	_ = verifier // verifier.Verify(r, accessToken) on each DPoP request

	err = replay.Use(context.Background(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", "e1j3V_bKic8-LAEB", time.Now().Add(time.Minute))
	fmt.Println("refused:", err != nil, "as a replay:", errors.Is(err, dpop.ErrReplay))
	// Output:
	// refused: true as a replay: false
}
