// Package redisstore holds the Redis-backed stores of apiguard's
// token lifecycle, for running apiguard on several instances that share their
// decisions (the distributed mode):
//
//   - RefreshStore, a token.RefreshStore whose spend is one Lua script,
//     so two racing uses of one refresh token can never both succeed;
//   - RevocationList, a middleware.RevocationList that writes revocations to
//     Redis and announces them on a Pub/Sub channel, while every instance
//     answers IsRevoked from a local replica (a
//     middleware.MemoryRevocationList) loaded at start, fed by the
//     subscription and reloaded after every reconnect, so the request path
//     never waits on Redis.
//
// Both use github.com/redis/go-redis/v9. Every key carries a TTL equal to the
// moment its content stops mattering (the refresh family's absolute expiry,
// the revoked token's expiry), so Redis never holds more than the live state.
//
// Redis going away never panics and never turns into a silent success: a
// refresh fails with token.ErrStoreUnavailable (the caller answers 503),
// and the revocation list follows its FailOpen setting and says so in the
// audit log.
package redisstore
