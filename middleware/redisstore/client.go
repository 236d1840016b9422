package redisstore

import (
	"fmt"

	"github.com/apiguard/apiguard/internal/breaker"
	"github.com/redis/go-redis/v9"
)

// BreakerOptions configures the circuit breaker of a RefreshStore and of a
// RevocationList's writes, so that while Redis is known to be down a call
// fails at once (with an error matching ErrCircuitOpen: the refresh answers
// token.ErrStoreUnavailable, a revocation is kept in the local replica and
// written back at the next resync, as for any failed write) instead of
// waiting for dials and retries. Fields:
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
//   - OnChange: told of each transition once (true: opened).
//   - Now, After: the clock of Window and the probe schedule, for tests.
type BreakerOptions = breaker.Options

// ErrCircuitOpen matches the error of a call refused by an open breaker.
var ErrCircuitOpen = breaker.ErrOpen

// newBreaker builds a store's breaker on c; opts names the options type in
// errors.
func newBreaker(c redis.UniversalClient, o BreakerOptions, opts string) (*breaker.Breaker, error) {
	b, err := breaker.NewRedis(c, o)
	if err != nil {
		return nil, fmt.Errorf("redisstore: %s.%w", opts, err)
	}
	return b, nil
}

// nilClient reports whether c is nil, or a nil pointer of one of go-redis's
// client types inside the interface (a nil *redis.Client passed as a
// redis.UniversalClient is not == nil, and would panic on first use).
func nilClient(c redis.UniversalClient) bool {
	switch v := c.(type) {
	case nil:
		return true
	case *redis.Client:
		return v == nil
	case *redis.ClusterClient:
		return v == nil
	case *redis.Ring:
		return v == nil
	}
	return false
}
