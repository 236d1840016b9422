package ratelimit

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix prefixes every key apiguard writes to Redis.
const DefaultRedisPrefix = "apiguard"

// RedisOptions configures a Redis store. The zero value is usable.
type RedisOptions struct {
	// Prefix starts every key; default DefaultRedisPrefix. Keys read
	// "{<prefix>:rl:<hex key>}": the whole key is the hash tag, so one
	// decision touches one slot and Redis Cluster works.
	Prefix string
}

// gcraScript is the whole decision: one atomic script, one round trip.
// It reads Redis's own clock (TIME, in microseconds), so every instance
// sharing the store agrees on time whatever its local clock says.
// ARGV: emission interval (µs), burst tolerance (µs), n.
// Returns {allowed, reset after (µs), retry after (µs)}.
const gcraScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local T = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local new = tat + n * T
local allowAt = new - tau
if allowAt > now then
  return {0, tat - now, allowAt - now}
end
if n > 0 then
  redis.call('SET', KEYS[1], string.format('%.0f', new), 'PX', math.ceil((new - now) / 1000))
end
return {1, new - now, 0}
`

// RedisStore is a GCRA Store in Redis, shared by every instance using the
// same Redis and prefix. Safe for concurrent use.
//
// Time comes from Redis (TIME), not from the now passed to Allow: instances
// with skewed clocks still share one consistent budget. Tests that need an
// exact injected clock use the MemoryStore, which runs the same arithmetic.
type RedisStore struct {
	c      redis.UniversalClient
	prefix string
	script *redis.Script
}

// NewRedisStore returns a store using client c.
func NewRedisStore(c redis.UniversalClient, o RedisOptions) (*RedisStore, error) {
	if c == nil {
		return nil, errors.New("ratelimit: NewRedisStore: client is nil")
	}
	if o.Prefix == "" {
		o.Prefix = DefaultRedisPrefix
	}
	if strings.ContainsAny(o.Prefix, "{}") {
		return nil, errors.New("ratelimit: RedisOptions.Prefix " + fmt.Sprintf("%q", o.Prefix) + " must not contain braces (they make the hash tag)")
	}
	return &RedisStore{c: c, prefix: o.Prefix, script: redis.NewScript(gcraScript)}, nil
}

func redisKey(prefix, kind string, key *[32]byte) string {
	var buf [160]byte
	b := append(buf[:0], '{')
	b = append(b, prefix...)
	b = append(b, ':')
	b = append(b, kind...)
	b = append(b, ':')
	b = hex.AppendEncode(b, key[:])
	b = append(b, '}')
	return string(b)
}

// Allow implements Store with one EVALSHA (EVAL when the script is not yet
// loaded). now is ignored: Redis's clock decides (see RedisStore).
func (s *RedisStore) Allow(ctx context.Context, key [32]byte, l Limit, _ time.Time, n int) (Decision, error) {
	if n < 0 || l.Rate <= 0 || l.Period < time.Duration(l.Rate) {
		return Decision{}, errors.New("ratelimit: invalid limit or count")
	}
	T := l.interval().Microseconds()
	if T < 1 {
		T = 1
	}
	tau := int64(l.burst()) * T
	res, err := s.script.Run(ctx, s.c, []string{redisKey(s.prefix, "rl", &key)}, T, tau, n).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if len(res) != 3 {
		return Decision{}, errors.New("ratelimit: redis: unexpected script reply")
	}
	return redisDecision(l, res[0] == 1, res[1], res[2], T, tau), nil
}

func redisDecision(l Limit, allowed bool, resetUS, retryUS, T, tau int64) Decision {
	d := Decision{
		Allowed:    allowed,
		Limit:      l,
		ResetAfter: time.Duration(resetUS) * time.Microsecond,
		RetryAfter: time.Duration(retryUS) * time.Microsecond,
	}
	if r := (tau - resetUS) / T; r > 0 {
		d.Remaining = int(r)
	}
	return d
}
