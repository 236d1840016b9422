package redisstore

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/apiguard/apiguard/internal/breaker"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix starts every key these stores write to Redis.
const DefaultPrefix = "apiguard"

// Options configures a store. The zero value is usable.
type Options struct {
	// Prefix starts every key; default DefaultPrefix. Keys read
	// "{<prefix>:rl:<hex key>}" (limiter, Allow),
	// "{<prefix>:rlb:<hex group>}:<hex key>" (limiter, AllowBatch: a
	// request's keys share its group's hash tag) and
	// "{<prefix>:bf:<hex key>}" (guard): one decision touches one slot and
	// Redis Cluster works.
	Prefix string
	// Breaker configures the store's circuit breaker (the zero value: on,
	// with its defaults). See BreakerOptions.
	Breaker BreakerOptions
	// OverLimit configures the limiter store's local memory of clients
	// known to be over their limit (the zero value: on, with its
	// defaults). See OverLimitOptions. The guard store ignores it.
	OverLimit OverLimitOptions
}

// BreakerOptions configures the circuit breaker every store has, so that
// while Redis is known to be down a call fails at once (with an error
// matching ErrCircuitOpen, which ratelimit treats as any store failure:
// FailClosed decides) instead of waiting for dials and retries. Fields:
//
//   - Disabled: no breaker (every call goes to Redis).
//   - Threshold (default 3): consecutive connection-level failures, each
//     within Window (default 1 s) of the previous, that open it; a failure
//     within Window of the last closing reopens it at once. Only network
//     errors, timeouts, LOADING, CLUSTERDOWN and MASTERDOWN count: never a
//     script error, NOSCRIPT or a cancelled context.
//   - ProbeInterval (default 250 ms): while open, a PING on the store's
//     client this often (and with this timeout); the first that succeeds
//     closes the breaker.
//   - OnChange: told of each transition once (true: opened). The switch
//     is also recorded by ratelimit's own "store failing" / "recovered"
//     audit events, as before, since the calls fail and succeed again.
//   - Now, After: the clock of Window and the probe schedule, for tests.
type BreakerOptions = breaker.Options

// ErrCircuitOpen matches the error of a call refused by an open breaker.
var ErrCircuitOpen = breaker.ErrOpen

// newBreaker builds the breaker of a store on c.
func (o Options) newBreaker(c redis.UniversalClient, fn string) (*breaker.Breaker, error) {
	b, err := breaker.NewRedis(c, o.Breaker)
	if err != nil {
		return nil, fmt.Errorf("redisstore: %s: Options.%w", fn, err)
	}
	return b, nil
}

// prefix validates the client and o and returns the prefix to use.
func (o Options) prefix(c redis.UniversalClient, fn string) (string, error) {
	if c == nil {
		return "", errors.New("redisstore: " + fn + ": client is nil")
	}
	if o.Prefix == "" {
		return DefaultPrefix, nil
	}
	if strings.ContainsAny(o.Prefix, "{}") {
		return "", errors.New("redisstore: Options.Prefix " + strconv.Quote(o.Prefix) + " must not contain braces (they make the hash tag)")
	}
	return o.Prefix, nil
}

// key returns "{<prefix>:<kind>:<hex key>}".
func key(prefix, kind string, k *[32]byte) string {
	var buf [160]byte
	b := append(buf[:0], '{')
	b = append(b, prefix...)
	b = append(b, ':')
	b = append(b, kind...)
	b = append(b, ':')
	b = hex.AppendEncode(b, k[:])
	b = append(b, '}')
	return string(b)
}
