package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lockout is the progressive lockout policy: the n-th lockout of a key within
// Memory of the previous one lasts Base × 2^(n-1), at most Max.
type Lockout struct {
	Base   time.Duration
	Max    time.Duration
	Memory time.Duration // how long past offences are remembered
}

func (p Lockout) duration(offences int) time.Duration {
	d := p.Base
	for i := 1; i < offences && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// GuardStore keeps brute-force state per key: a GCRA failure counter, the
// lockout deadline and the count of recent offences. Implementations are safe
// for concurrent use.
type GuardStore interface {
	// Fail records one failure of key under limit. When it uses up the
	// limit, a lockout starts and Fail returns its length; while key is
	// locked, failures are not counted and Fail returns 0.
	Fail(ctx context.Context, key [32]byte, limit Limit, p Lockout, now time.Time) (started time.Duration, err error)
	// Locked returns how long key remains locked out; 0 when it is not.
	Locked(ctx context.Context, key [32]byte, now time.Time) (time.Duration, error)
	// Reset forgets key entirely: failures, lockout and offences.
	Reset(ctx context.Context, key [32]byte) error
}

// guardEntry is a key's brute-force state (unix ns).
type guardEntry struct {
	tat, lockUntil, offExpire int64
	offences                  int32
}

func (e guardEntry) expiry() int64 { return max(e.tat, e.lockUntil, e.offExpire) }

// guardFail is the arithmetic both stores run: count one failure at now; at
// the limit (the last unit taken), lock.
func guardFail(e guardEntry, l Limit, p Lockout, now int64) (guardEntry, time.Duration) {
	if e.lockUntil > now {
		return e, 0
	}
	if e.offExpire <= now {
		e.offences = 0
	}
	T := int64(l.interval())
	tau := int64(l.burst()) * T
	tat := max(e.tat, now) + T
	if tat-now > tau-T { // no unit left
		if e.offences < 62 {
			e.offences++
		}
		d := p.duration(int(e.offences))
		e.tat = 0
		e.lockUntil = now + int64(d)
		e.offExpire = e.lockUntil + int64(p.Memory)
		return e, d
	}
	e.tat = tat
	return e, 0
}

// GuardMemoryStore is an in-process GuardStore, sharded and bounded like
// MemoryStore. Safe for concurrent use.
type GuardMemoryStore struct {
	t *table[guardEntry]
}

// NewGuardMemoryStore returns a GuardMemoryStore configured by o.
func NewGuardMemoryStore(o MemoryOptions) (*GuardMemoryStore, error) {
	t, err := newTable[guardEntry](o)
	if err != nil {
		return nil, err
	}
	return &GuardMemoryStore{t: t}, nil
}

// Len returns the number of keys tracked.
func (s *GuardMemoryStore) Len() int { return s.t.Len() }

// Fail implements GuardStore.
func (s *GuardMemoryStore) Fail(_ context.Context, key [32]byte, l Limit, p Lockout, now time.Time) (time.Duration, error) {
	if err := l.validate(); err != nil {
		return 0, err
	}
	ns := now.UnixNano()
	sh := s.t.shard(&key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var e guardEntry
	ep, ok := sh.lookup(&key)
	if ok {
		e = *ep
	}
	e2, started := guardFail(e, l, p, ns)
	if e2 != e {
		if ok {
			*ep = e2
		} else {
			s.t.makeRoom(sh, ns)
			sh.insert(&key, e2)
		}
	}
	return started, nil
}

// Locked implements GuardStore.
func (s *GuardMemoryStore) Locked(_ context.Context, key [32]byte, now time.Time) (time.Duration, error) {
	ns := now.UnixNano()
	sh := s.t.shard(&key)
	sh.mu.Lock()
	var e guardEntry
	if ep, ok := sh.lookup(&key); ok {
		e = *ep
	}
	sh.mu.Unlock()
	if e.lockUntil > ns {
		return time.Duration(e.lockUntil - ns), nil
	}
	return 0, nil
}

// Reset implements GuardStore.
func (s *GuardMemoryStore) Reset(_ context.Context, key [32]byte) error {
	sh := s.t.shard(&key)
	sh.mu.Lock()
	sh.remove(&key)
	sh.mu.Unlock()
	return nil
}

// guardFailScript is guardFail in Lua over one hash per key, on Redis's
// clock (µs). ARGV: interval, tolerance, base, max, memory (µs).
// Returns the lockout started (µs), or 0.
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

// GuardRedisStore is a GuardStore in Redis: one hash per key
// ("{<prefix>:bf:<hex>}", one slot), one script per call, Redis's clock.
// Safe for concurrent use.
type GuardRedisStore struct {
	c              redis.UniversalClient
	prefix         string
	fail, isLocked *redis.Script
}

// NewGuardRedisStore returns a GuardRedisStore using client c.
func NewGuardRedisStore(c redis.UniversalClient, o RedisOptions) (*GuardRedisStore, error) {
	if c == nil {
		return nil, errors.New("ratelimit: NewGuardRedisStore: client is nil")
	}
	if o.Prefix == "" {
		o.Prefix = DefaultRedisPrefix
	}
	if strings.ContainsAny(o.Prefix, "{}") {
		return nil, fmt.Errorf("ratelimit: RedisOptions.Prefix %q must not contain braces (they make the hash tag)", o.Prefix)
	}
	return &GuardRedisStore{c: c, prefix: o.Prefix, fail: redis.NewScript(guardFailScript), isLocked: redis.NewScript(guardLockedScript)}, nil
}

// Fail implements GuardStore; now is ignored (Redis's clock decides).
func (s *GuardRedisStore) Fail(ctx context.Context, key [32]byte, l Limit, p Lockout, _ time.Time) (time.Duration, error) {
	if err := l.validate(); err != nil {
		return 0, err
	}
	T := l.interval().Microseconds()
	us, err := s.fail.Run(ctx, s.c, []string{redisKey(s.prefix, "bf", &key)},
		T, int64(l.burst())*T, p.Base.Microseconds(), p.Max.Microseconds(), p.Memory.Microseconds()).Int64()
	if err != nil {
		return 0, fmt.Errorf("ratelimit: redis: %w", err)
	}
	return time.Duration(us) * time.Microsecond, nil
}

// Locked implements GuardStore; now is ignored (Redis's clock decides).
func (s *GuardRedisStore) Locked(ctx context.Context, key [32]byte, _ time.Time) (time.Duration, error) {
	us, err := s.isLocked.Run(ctx, s.c, []string{redisKey(s.prefix, "bf", &key)}).Int64()
	if err != nil {
		return 0, fmt.Errorf("ratelimit: redis: %w", err)
	}
	return time.Duration(us) * time.Microsecond, nil
}

// Reset implements GuardStore.
func (s *GuardRedisStore) Reset(ctx context.Context, key [32]byte) error {
	if err := s.c.Del(ctx, redisKey(s.prefix, "bf", &key)).Err(); err != nil {
		return fmt.Errorf("ratelimit: redis: %w", err)
	}
	return nil
}
