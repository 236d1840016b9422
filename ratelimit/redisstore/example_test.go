package redisstore_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/apiguard/apiguard/ratelimit"
	"github.com/apiguard/apiguard/ratelimit/redisstore"
	"github.com/redis/go-redis/v9"
)

// Every instance runs the same wiring: the client-key secret, the limiter
// and the guard all come from one Redis, so a client has one budget and one
// lockout whichever instance it reaches. (No output: it needs a Redis.)
func Example() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	secret, err := redisstore.SharedSecret(ctx, rdb) // or your own, set on every instance
	if err != nil {
		log.Fatal(err)
	}
	id := ratelimit.MustNewIdentifier(ratelimit.IdentityConfig{Secret: secret})
	limits, err := redisstore.NewLimiterStore(rdb, redisstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	lockouts, err := redisstore.NewGuardStore(rdb, redisstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	// A burst and a daily quota, decided together in one round trip.
	lim := ratelimit.MustNew(ratelimit.Config{Store: limits, Identifier: id, Policies: []ratelimit.Policy{
		{Name: "burst", Limit: ratelimit.PerSecond(20)},
		{Name: "daily", Limit: ratelimit.PerDay(1000)},
	}})
	guard := ratelimit.MustNewGuard(ratelimit.GuardConfig{Store: lockouts, Identifier: id})
	api := http.NewServeMux()
	log.Fatal(http.ListenAndServe(":8080", id.Handler(lim.Handler(guard.Handler(api)))))
}

// The stores are built without a round trip (they talk to Redis on the
// first decision), and refuse a prefix that would break the hash tag.
func ExampleNewLimiterStore() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	if _, err := redisstore.NewLimiterStore(rdb, redisstore.Options{Prefix: "shop"}); err == nil {
		fmt.Println(`keys read "{shop:rlb:<hex group>}:<hex key>"`)
	}
	// The memory of clients over their limit is bounded and configurable.
	_, err := redisstore.NewLimiterStore(rdb, redisstore.Options{OverLimit: redisstore.OverLimitOptions{MaxAge: time.Hour}})
	fmt.Println(err)
	_, err = redisstore.NewGuardStore(rdb, redisstore.Options{Prefix: "shop{1}"})
	fmt.Println(err)
	// Output:
	// keys read "{shop:rlb:<hex group>}:<hex key>"
	// redisstore: Options.OverLimit.MaxAge 1h0m0s must be 0 (default) to 1m0s
	// redisstore: Options.Prefix "shop{1}" must not contain braces (they make the hash tag)
}
