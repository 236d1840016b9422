// Package redisstore keeps the state of package ratelimit in Redis, so that
// every instance of a service sharing one Redis shares each client's rate
// limit and lockout: a limiter store (NewLimiterStore), a brute-force guard
// store (NewGuardStore), and SharedSecret, which gives every instance the
// same client-key secret.
//
// Each decision is one atomic Lua script in one round trip, timed by Redis's
// own clock (TIME), so instances with skewed clocks still agree. Every key
// is a whole hash tag ("{apiguard:rl:<hex>}"; the keys of a limiter's batch
// share their group's tag, "{apiguard:rlb:<hex group>}:<hex key>"), so one
// decision touches one slot and Redis Cluster works. Constructors take a redis.UniversalClient:
// a *redis.Client, a *redis.ClusterClient or a failover client.
//
// A limiter's request, with all its policies and IP ceilings, is one script
// (LimiterStore.AllowBatch). A client known to be over its limit is refused
// locally for a short while (Options.OverLimit, at most a second by
// default), so that a flood from one client costs about one round trip a
// second rather than one per request.
//
// Each store has a circuit breaker (Options.Breaker): once Redis is known
// to be down (a few consecutive connection-level failures), every call fails
// at once with ErrCircuitOpen, which ratelimit handles as any store failure
// (FailClosed decides), until a background PING finds Redis back.
//
// It is a package of its own so that programs that keep their limits in
// memory do not link go-redis.
package redisstore
