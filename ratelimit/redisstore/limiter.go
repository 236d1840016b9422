package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apiguard/apiguard/internal/breaker"
	"github.com/apiguard/apiguard/ratelimit"
	"github.com/redis/go-redis/v9"
)

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

// LimiterStore is a ratelimit.Store and ratelimit.BatchStore in Redis,
// shared by every instance using the same Redis and prefix: one string per
// key holding its TAT, expiring with it. A Limiter decides all of a
// request's policies and IP ceilings with AllowBatch, in one round trip.
// Safe for concurrent use.
//
// Time comes from Redis (TIME), not from the now passed to Allow: instances
// with skewed clocks still share one consistent budget. Tests that need an
// exact injected clock use ratelimit.MemoryStore, which runs the same
// arithmetic.
type LimiterStore struct {
	c      redis.UniversalClient
	prefix string
	script *redis.Script
	batch  *redis.Script
	br     *breaker.Breaker
	over   *overLimit // nil when Options.OverLimit.Disabled
}

// NewLimiterStore returns a limiter store using client c.
func NewLimiterStore(c redis.UniversalClient, o Options) (*LimiterStore, error) {
	p, err := o.prefix(c, "NewLimiterStore")
	if err != nil {
		return nil, err
	}
	br, err := o.newBreaker(c, "NewLimiterStore")
	if err != nil {
		return nil, err
	}
	over, err := newOverLimit(o.OverLimit)
	if err != nil {
		return nil, err
	}
	return &LimiterStore{c: c, prefix: p, script: redis.NewScript(gcraScript), batch: redis.NewScript(batchScript), br: br, over: over}, nil
}

// Allow implements ratelimit.Store with one EVALSHA (EVAL when the script is
// not yet loaded). now is ignored: Redis's clock decides. While the
// store's breaker is open it fails at once (ErrCircuitOpen).
func (s *LimiterStore) Allow(ctx context.Context, k [32]byte, l ratelimit.Limit, _ time.Time, n int) (ratelimit.Decision, error) {
	if err := l.Validate(); err != nil {
		return ratelimit.Decision{}, err
	}
	if n < 0 {
		return ratelimit.Decision{}, errors.New("redisstore: Allow: n must not be negative")
	}
	if err := s.br.Allow(); err != nil {
		return ratelimit.Decision{}, fmt.Errorf("redisstore: %w", err)
	}
	T, tau := l.Interval().Microseconds(), l.Tolerance().Microseconds()
	res, err := s.script.Run(ctx, s.c, []string{key(s.prefix, "rl", &k)}, T, tau, n).Int64Slice()
	if s.br.Done(err) != nil {
		return ratelimit.Decision{}, fmt.Errorf("redisstore: %w", err)
	}
	if len(res) != 3 {
		return ratelimit.Decision{}, errors.New("redisstore: unexpected script reply")
	}
	d := ratelimit.Decision{
		Allowed:    res[0] == 1,
		Limit:      l,
		ResetAfter: time.Duration(res[1]) * time.Microsecond,
		RetryAfter: time.Duration(res[2]) * time.Microsecond,
	}
	if r := (tau - res[1]) / T; r > 0 {
		d.Remaining = int(r)
	}
	return d, nil
}
