package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/apiguard/apiguard/internal/breaker"
	"github.com/apiguard/apiguard/ratelimit"
	"github.com/redis/go-redis/v9"
)

// guardFailScript counts one failure over one hash per key, on Redis's clock
// (µs), with the arithmetic of ratelimit.GuardMemoryStore. ARGV: interval,
// tolerance, base, max, memory (µs). Returns the lockout started (µs), or 0.
const guardFailScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local T, tau = tonumber(ARGV[1]), tonumber(ARGV[2])
local base, cap, mem = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local h = redis.call('HMGET', KEYS[1], 'tat', 'lock', 'off', 'offexp')
local tat = tonumber(h[1]) or 0
local lock = tonumber(h[2]) or 0
local off = tonumber(h[3]) or 0
local offexp = tonumber(h[4]) or 0
if lock > now then return 0 end
if offexp <= now then off = 0 end
if tat < now then tat = now end
tat = tat + T
if tat - now > tau - T then
  if off < 62 then off = off + 1 end
  local d = base
  for i = 2, off do
    if d >= cap then break end
    d = d * 2
  end
  if d > cap then d = cap end
  lock = now + d
  offexp = lock + mem
  redis.call('HSET', KEYS[1], 'tat', '0', 'lock', string.format('%.0f', lock), 'off', off, 'offexp', string.format('%.0f', offexp))
  redis.call('PEXPIRE', KEYS[1], math.ceil((offexp - now) / 1000))
  return d
end
redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', tat), 'off', off)
redis.call('PEXPIRE', KEYS[1], math.ceil((math.max(tat, offexp) - now) / 1000))
return 0
`

const guardLockedScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local lock = tonumber(redis.call('HGET', KEYS[1], 'lock')) or 0
if lock > now then return lock - now end
return 0
`

// GuardStore is a ratelimit.GuardStore in Redis: one hash per key
// ("{<prefix>:bf:<hex>}", one slot), expiring with its state, one script per
// call, Redis's clock. Safe for concurrent use. While its breaker is open
// (Options.Breaker) every call fails at once with ErrCircuitOpen.
type GuardStore struct {
	c            redis.UniversalClient
	prefix       string
	fail, locked *redis.Script
	br           *breaker.Breaker
}

// NewGuardStore returns a guard store using client c.
func NewGuardStore(c redis.UniversalClient, o Options) (*GuardStore, error) {
	p, err := o.prefix(c, "NewGuardStore")
	if err != nil {
		return nil, err
	}
	br, err := o.newBreaker(c, "NewGuardStore")
	if err != nil {
		return nil, err
	}
	return &GuardStore{c: c, prefix: p, fail: redis.NewScript(guardFailScript), locked: redis.NewScript(guardLockedScript), br: br}, nil
}

// Fail implements ratelimit.GuardStore; now is ignored (Redis's clock
// decides).
func (s *GuardStore) Fail(ctx context.Context, k [32]byte, l ratelimit.Limit, p ratelimit.Lockout, _ time.Time) (time.Duration, error) {
	if err := l.Validate(); err != nil {
		return 0, err
	}
	if err := s.br.Allow(); err != nil {
		return 0, fmt.Errorf("redisstore: %w", err)
	}
	T := l.Interval().Microseconds()
	us, err := s.fail.Run(ctx, s.c, []string{key(s.prefix, "bf", &k)},
		T, l.Tolerance().Microseconds(), p.Base.Microseconds(), p.Max.Microseconds(), p.Memory.Microseconds()).Int64()
	if s.br.Done(err) != nil {
		return 0, fmt.Errorf("redisstore: %w", err)
	}
	return time.Duration(us) * time.Microsecond, nil
}

// Locked implements ratelimit.GuardStore; now is ignored (Redis's clock
// decides).
func (s *GuardStore) Locked(ctx context.Context, k [32]byte, _ time.Time) (time.Duration, error) {
	if err := s.br.Allow(); err != nil {
		return 0, fmt.Errorf("redisstore: %w", err)
	}
	us, err := s.locked.Run(ctx, s.c, []string{key(s.prefix, "bf", &k)}).Int64()
	if s.br.Done(err) != nil {
		return 0, fmt.Errorf("redisstore: %w", err)
	}
	return time.Duration(us) * time.Microsecond, nil
}

// Reset implements ratelimit.GuardStore.
func (s *GuardStore) Reset(ctx context.Context, k [32]byte) error {
	if err := s.br.Allow(); err != nil {
		return fmt.Errorf("redisstore: %w", err)
	}
	if err := s.br.Done(s.c.Del(ctx, key(s.prefix, "bf", &k)).Err()); err != nil {
		return fmt.Errorf("redisstore: %w", err)
	}
	return nil
}
