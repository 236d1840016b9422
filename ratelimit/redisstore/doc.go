// Package redisstore keeps the state of package ratelimit in Redis, so that
// every instance of a service sharing one Redis shares each client's rate
// limit and lockout: a limiter store (NewLimiterStore), a brute-force guard
// store (NewGuardStore), and SharedSecret, which gives every instance the
// same client-key secret.
//
// Each decision is one atomic Lua script in one round trip, timed by Redis's
// own clock (TIME), so instances with skewed clocks still agree. Every key
// is a whole hash tag ("{apiguard:rl:<hex>}"), so one decision touches one
// slot and Redis Cluster works. Constructors take a redis.UniversalClient:
// a *redis.Client, a *redis.ClusterClient or a failover client.
//
// It is a package of its own so that programs that keep their limits in
// memory do not link go-redis.
package redisstore
