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
// decision (all of a request's budgets together) on Redis's clock.
//
// The middleware (New, Handler) answers 429 with Retry-After, and sets the
// RateLimit-Policy and RateLimit fields of the IETF httpapi draft
// (draft-ietf-httpapi-ratelimit-headers-10 to 12) on every response it limits:
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
// Config.IPMultiple turns it off), decided together with the client's budget
// under a keyed hash of the group. It is the second RateLimit-Policy item,
// Name+"-ip", and RateLimit names whichever of the two is tighter. When the
// store fails, the limiter fails open (default) or closed (503), and records
// each switch once in the audit log.
//
// # Policies, cost, shadow mode
//
// Config.Policies gives a limiter several budgets, such as a burst and a
// daily quota (Config.Limit is the shorthand for one, named Name); each has
// its IP ceiling, named <policy>-ip:
//
//	RateLimit-Policy: "burst";q=20;w=1, "daily";q=1000;w=86400, "burst-ip";q=200;w=1, "daily-ip";q=10000;w=86400
//	RateLimit: "daily";r=3;t=80000
//
// A request is admitted only when every budget admits it, and then counts
// against all of them; a refused one counts against none. Stores decide all
// of a request's budgets in one call (BatchStore.AllowBatch): the memory
// store under the locks of all their shards at once, the Redis store in one
// script, one round trip. RateLimit names the tightest budget (the fewest
// requests remaining, or as many for longer), or, on a refusal, the
// violated one that frees last, whose RetryAfter is the Retry-After.
//
// Config.Cost weighs a request (an expensive search may cost 10): the cost
// is taken from every budget, and a request whose cost does not fit is
// refused and consumes nothing. Config.Shadow computes, records and counts
// decisions without enforcing them, and sends no rate-limit field.
// Config.PartitionKey adds the draft's pk parameter, a keyed hash of the
// client (or its IP group), never its address.
//
// Refusals answer with JSON by default, and with RFC 9457 problem details of
// the draft's types (quota-exceeded naming the violated-policies for a 429,
// temporary-reduced-capacity for a fail-closed 503) to a client whose Accept
// prefers application/problem+json.
//
// # Brute-force guard
//
// A Guard counts failures only, per client, per IP group alone and per
// account, and locks out those that reach a threshold, for twice as long at
// each repeated offence. Its counters are GCRA too: "5 per 15m" means the
// fifth failure within a 15-minute budget (refilled at one per 3 minutes)
// starts a lockout.
package ratelimit
