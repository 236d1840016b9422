package ratelimit

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/apiguard/apiguard/auditlog"
)

// Config configures a Limiter. Only Limit is required; every other zero
// field means the default its doc names.
type Config struct {
	// Store keeps the limiter state. Default: a MemoryStore with default
	// MemoryOptions. Use a store from package ratelimit/redisstore to share
	// budgets between instances.
	Store Store
	// Limit is the budget per client, such as PerMinute(100) or
	// Limit{Rate: 100, Period: time.Minute, Burst: 20}. Required.
	Limit Limit
	// Name names the route group: it appears in RateLimit-Policy and
	// RateLimit, and it separates this limiter's keys from other limiters
	// sharing a store. Default "default". Letters, digits, '-', '_' and '.'.
	Name string
	// Identifier computes the client identity when no earlier Identifier
	// Handler put one in the context. Default: an Identifier trusting no proxy
	// with a random secret.
	Identifier *Identifier
	// KeyFunc, when set, chooses the key of a request; when it reports false
	// the client identity is used. Return a keyed hash, never a raw value:
	// Identifier.Derive(label, value) gives one that reveals nothing in a
	// shared store and is spread as stores expect.
	//
	// To give each authenticated user one budget from every address, place
	// the limiter after authentication and key by the token's subject (see
	// the example of Config.KeyFunc):
	//
	//	KeyFunc: func(r *http.Request) ([32]byte, bool) {
	//		c, ok := middleware.ClaimsFromContext(r.Context())
	//		if !ok {
	//			return [32]byte{}, false // anonymous: by client identity
	//		}
	//		return id.Derive("sub", c.Subject), true
	//	}
	KeyFunc func(*http.Request) ([32]byte, bool)
	// FailClosed refuses requests (503 with Retry-After: 1) while the store
	// fails. Default false: fail open, the right default for general limits
	// (a Redis outage must not take the API down); use true for login.
	FailClosed bool
	// ErrorWriter writes the refusal after the rate-limit headers and
	// Retry-After are set. Default: 429 with a JSON body
	// {"error":"rate_limited","error_description":"too many requests"}.
	ErrorWriter func(w http.ResponseWriter, r *http.Request, d Decision)
	// Audit records each switch to and from a failing store. Default: none.
	Audit *auditlog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Limiter is the rate-limit middleware. Safe for concurrent use.
type Limiter struct {
	cfg      Config
	mask     [32]byte // separates this limiter's keys from others in one store
	policy   []string // precomputed RateLimit-Policy value
	rlPrefix string   // `"name";r=`
	failing  atomic.Bool
	// rlCache holds recently formatted RateLimit values, so steady traffic
	// sets the header without allocating. Direct-mapped by (remaining,
	// seconds), lock-free, entries immutable.
	rlCache [rlCacheSize]atomic.Pointer[rlValue]
}

const rlCacheSize = 512

type rlValue struct {
	r, t int64
	v    []string
}

// Header names in canonical form, assigned straight into the header map.
const (
	hdrPolicy      = "Ratelimit-Policy"
	hdrRateLimit   = "Ratelimit"
	hdrRetryAfter  = "Retry-After"
	hdrContentType = "Content-Type"
)

var (
	jsonType    = []string{"application/json"}
	retryOne    = []string{"1"}
	bodyLimited = []byte(`{"error":"rate_limited","error_description":"too many requests"}` + "\n")
	bodyUnavail = []byte(`{"error":"temporarily_unavailable","error_description":"try again later"}` + "\n")
)

// New validates c and returns a Limiter.
func New(c Config) (*Limiter, error) {
	if c.Limit == (Limit{}) {
		return nil, errors.New("ratelimit: Config.Limit is zero; set a budget such as ratelimit.PerMinute(100)")
	}
	if err := c.Limit.check("Config.Limit"); err != nil {
		return nil, err
	}
	if c.Name == "" {
		c.Name = "default"
	}
	for i := 0; i < len(c.Name); i++ {
		ch := c.Name[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.') || i >= 64 {
			return nil, errors.New("ratelimit: Config.Name " + strconv.Quote(c.Name) + " must be 1 to 64 letters, digits, '-', '_' or '.'")
		}
	}
	if c.Store == nil {
		s, err := NewMemoryStore(MemoryOptions{})
		if err != nil {
			return nil, err
		}
		c.Store = s
	}
	if c.Identifier == nil {
		id, err := NewIdentifier(IdentityConfig{})
		if err != nil {
			return nil, err
		}
		c.Identifier = id
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	l := &Limiter{cfg: c, mask: sha256.Sum256([]byte("apiguard/ratelimit/" + c.Name))}
	pol := strconv.Quote(c.Name) + ";q=" + strconv.Itoa(c.Limit.Rate) + ";w=" + strconv.FormatInt(ceilSeconds(c.Limit.Period), 10)
	if c.Limit.Burst != 0 && c.Limit.Burst != c.Limit.Rate {
		pol += ";burst=" + strconv.Itoa(c.Limit.Burst)
	}
	l.policy = []string{pol}
	l.rlPrefix = strconv.Quote(c.Name) + ";r="
	return l, nil
}

// MustNew is New for literal configuration: it panics on an error.
func MustNew(c Config) *Limiter {
	l, err := New(c)
	if err != nil {
		panic(err)
	}
	return l
}

// Check takes one request's worth of budget for r and returns the decision.
// On a store error it returns the error and a decision that follows the
// fail-open/closed setting.
func (l *Limiter) Check(r *http.Request) (Decision, error) {
	d, err := l.cfg.Store.Allow(r.Context(), l.key(r), l.cfg.Limit, l.cfg.Now(), 1)
	if err != nil {
		if l.failing.CompareAndSwap(false, true) {
			detail := "rate-limit store failing; failing open"
			if l.cfg.FailClosed {
				detail = "rate-limit store failing; failing closed"
			}
			l.cfg.Audit.Record(r, auditlog.Event{Name: auditlog.StoreUnavailable, Reason: "ratelimit_" + l.cfg.Name, Detail: detail})
		}
		return Decision{Allowed: !l.cfg.FailClosed, Limit: l.cfg.Limit, RetryAfter: time.Second}, err
	}
	if l.failing.Load() && l.failing.CompareAndSwap(true, false) {
		l.cfg.Audit.Record(r, auditlog.Event{Name: auditlog.StoreUnavailable, Reason: "ratelimit_" + l.cfg.Name, Detail: "rate-limit store recovered"})
	}
	return d, nil
}

// key returns the store key of r: KeyFunc's or the client key, mixed with
// this limiter's mask.
func (l *Limiter) key(r *http.Request) [32]byte {
	var key [32]byte
	ok := false
	if l.cfg.KeyFunc != nil {
		key, ok = l.cfg.KeyFunc(r)
	}
	if !ok {
		key = l.cfg.Identifier.clientKey(r)
	}
	xorKey(&key, &l.mask)
	return key
}

// xorKey mixes a per-limiter (or per-purpose) mask into key, so that users
// of one store never share state; keys stay uniformly distributed.
func xorKey(key, mask *[32]byte) {
	for i := 0; i < 32; i += 8 {
		binary.LittleEndian.PutUint64(key[i:], binary.LittleEndian.Uint64(key[i:])^binary.LittleEndian.Uint64(mask[i:]))
	}
}

// Handler limits next: allowed requests carry RateLimit-Policy and RateLimit;
// refused ones get 429, Retry-After in whole seconds rounded up, and the
// ErrorWriter's body.
func (l *Limiter) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := l.Check(r)
		h := w.Header()
		if err != nil {
			if d.Allowed {
				next.ServeHTTP(w, r)
				return
			}
			h[hdrRetryAfter] = retryOne
			h[hdrContentType] = jsonType
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write(bodyUnavail)
			return
		}
		h[hdrPolicy] = l.policy
		h[hdrRateLimit] = l.rateLimitValue(d.Remaining, d.ResetAfter)
		if d.Allowed {
			next.ServeHTTP(w, r)
			return
		}
		h[hdrRetryAfter] = []string{strconv.FormatInt(ceilSeconds(d.RetryAfter), 10)}
		if l.cfg.ErrorWriter != nil {
			l.cfg.ErrorWriter(w, r, d)
			return
		}
		h[hdrContentType] = jsonType
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write(bodyLimited)
	})
}

// rateLimitValue returns `"name";r=<remaining>;t=<seconds until the full
// quota is back>`, from the cache when it can.
func (l *Limiter) rateLimitValue(remaining int, resetAfter time.Duration) []string {
	r, t := int64(remaining), ceilSeconds(resetAfter)
	slot := &l.rlCache[uint64(r*61+t)%rlCacheSize]
	if e := slot.Load(); e != nil && e.r == r && e.t == t {
		return e.v
	}
	var buf [96]byte
	b := append(buf[:0], l.rlPrefix...)
	b = strconv.AppendInt(b, r, 10)
	b = append(b, ";t="...)
	b = strconv.AppendInt(b, t, 10)
	v := []string{string(b)}
	slot.Store(&rlValue{r: r, t: t, v: v})
	return v
}

// ceilSeconds rounds d up to whole seconds (never below 0).
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
