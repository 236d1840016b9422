// Package ratelimit decides how often a client may call: client identity,
// a GCRA limiter with its memory store, the rate-limit middleware and the
// brute-force guard. The Redis stores, which share budgets and lockouts
// between instances, are in package ratelimit/redisstore, so that programs
// that do not use Redis do not link its client.
//
// Every configuration's zero fields mean safe defaults, so the shortest
// limiter is
//
//	lim := ratelimit.MustNew(ratelimit.Config{Limit: ratelimit.PerMinute(100)})
//	http.ListenAndServe(addr, lim.Handler(api))
//
// (a memory store, an Identifier trusting no proxy). New, NewGuard and
// NewIdentifier return an error naming the field and the value; the Must
// forms panic instead, for literal configuration.
//
// # Identity
//
// An Identifier resolves the client IP (RemoteAddr, or the right-most
// untrusted X-Forwarded-For / Forwarded entry when the peer is a trusted
// proxy), groups IPv6 addresses by /64, and keys the client as
// HMAC-SHA-256(secret, group + User-Agent), so stored keys reveal no address.
// Its Handler computes this once per request and puts it in the context for
// the limiter, the guard and the audit log.
//
// # Limiter
//
// The limiter is GCRA: one stored time (the theoretical arrival time) per key,
// smooth spacing, and an exact Retry-After. A Limit of 100/1m allows bursts of
// 100 and then one request every 600ms. Stores take the clock as a parameter
// (Config.Now, default time.Now); the MemoryStore is sharded, bounded
// (MaxKeys, expired keys reclaimed first) and allocation-free, and its
// invariants are listed on its type; the Redis store runs one Lua script per
// decision on Redis's clock.
//
// The middleware (New, Handler) answers 429 with Retry-After, and sets the
// RateLimit-Policy and RateLimit fields of the IETF httpapi draft
// (draft-ietf-httpapi-ratelimit-headers-10/11) on every response it limits:
//
//	RateLimit-Policy: "default";q=100;w=60, "default-ip";q=1000;w=60
//	RateLimit: "default";r=0;t=12
//
// q and w are the policy (Rate per Period, in seconds); r is the remaining
// quota and t the seconds until the full quota is back. A Burst other than the
// Rate is shown as the extension parameter burst.
//
// The budget is per client (IP group and User-Agent), so an address that
// changes its agent at every request would be a new client every time: each
// IP group also has a ceiling (Config.IPLimit, by default DefaultIPMultiple =
// 10 times the client budget over the same period; a negative
// Config.IPMultiple turns it off), decided in the same path through the same
// Store under a keyed hash of the group. It is the second RateLimit-Policy
// item, Name+"-ip", and RateLimit names whichever of the two is tighter. When the store fails, the
// limiter fails open (default) or closed (503), and records each switch once
// in the audit log.
//
// # Brute-force guard
//
// A Guard counts failures only, per client, per IP group alone and per
// account, and locks out those that reach a threshold, for twice as long at
// each repeated offence. Its counters are GCRA too: "5 per 15m" means the
// fifth failure within a 15-minute budget (refilled at one per 3 minutes)
// starts a lockout.
package ratelimit
