// Package redisstore holds the Redis-backed stores of apiguard's
// token lifecycle, for running apiguard on several instances that share their
// decisions (the distributed mode):
//
//   - RefreshStore, a token.RefreshStore whose spend is one Lua script,
//     so two racing uses of one refresh token can never install two
//     successors, and a spend retried after a lost reply (by go-redis, or by
//     the client after a 503) gets the same successor instead of looking
//     like reuse (see token.DefaultRetryWindow), and a family bound to a
//     DPoP key (token.StartOptions.JKT) is spent only by a request proving
//     that key, compared in the same script before anything changes;
//   - RevocationList, a middleware.RevocationList (tokens, sessions and
//     subjects) that writes revocations to Redis and announces them on a
//     Pub/Sub channel, while every instance answers IsRevoked from a local
//     replica (a middleware.MemoryRevocationList) loaded at start, fed by
//     the subscription and re-synced after every reconnect, so the request
//     path never waits on Redis;
//   - DPoPReplayCache, a dpop.ReplayCache, so that a DPoP proof used on one
//     instance is refused on every other: a local dpop.MemoryReplayCache
//     answers the replays it knows without a Redis command, and every other
//     proof costs one SET NX PXAT; any Redis error or an open breaker
//     refuses the proof (the gate answers 503).
//
// All take a redis.UniversalClient: a single Redis, Sentinel, a Ring, or a
// Redis Cluster. On a Cluster every key one operation touches shares a hash
// tag: a refresh family's keys <prefix>rf:{<family>} and <prefix>rs:{<family>}
// (the token index keys <prefix>rt:<hash> are read and written one at a
// time), and all the keys of one revocation list {<prefix>rv}:…. The DPoP
// replay keys <prefix>dpop:<hash> share no tag: each is one command, and
// they spread over the masters.
//
// Every key carries a TTL equal to the moment its content stops mattering
// (the refresh family's absolute expiry, the end of a retry window, the
// revoked token's expiry, the end of a DPoP proof's window), so Redis never
// holds more than the live state.
//
// # Persistence
//
// What each store needs from Redis across a restart (CheckPersistence tells
// what a deployment has; call it at start and warn when Durable is false):
//
//   - revocations: nothing. Every instance's replica keeps every unexpired
//     revocation, and its resync after the reconnect writes back what Redis
//     lost, announces it, and records it (ReasonRestartedEmpty). Only an
//     instance started while Redis is empty, before any running instance
//     has re-synced, lacks them until that write-back reaches it; and a
//     revocation is lost only if Redis and every instance holding it
//     restart at once.
//   - refresh families: AOF (appendonly yes) or RDB snapshots. Without
//     either, a restart forgets every family and every user signs in again;
//     with RDB alone, the rotations after the last snapshot are lost, and
//     their successors are refused (invalid_grant) until the user signs in.
//   - rate limits and lockouts (ratelimit/redisstore): nothing; a restart
//     forgives some budget once.
//   - DPoP replays: nothing for one instance, whose local front remembers
//     its own proofs; a proof used on one instance before the restart could
//     be replayed once on another within its window (at most MaxAge +
//     Leeway), unless Redis persists its keys.
//
// Redis going away never panics and never turns into a silent success: a
// refresh fails with token.ErrStoreUnavailable (the caller answers 503),
// the revocation list follows its FailOpen setting and says so in the
// audit log, and a DPoP proof the local front does not know is refused
// (503).
//
// Once Redis is known to be down, calls fail at once instead of waiting for
// dials and retries: the refresh store, the revocation list's writes and
// the DPoP replay cache each have a circuit breaker (BreakerOptions) that
// opens after a few consecutive connection-level failures and is closed by
// a background PING as soon as Redis answers.
package redisstore
