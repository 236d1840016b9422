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
	// IPLimit is the ceiling on each IP group (an IPv4 address or, by
	// default, an IPv6 /64: Identity.Group) whatever User-Agents it sends,
	// so that rotating the agent, which makes a new client each time, does
	// not multiply the budget without end. Zero means IPMultiple × Limit:
	// Rate and Burst multiplied, the same Period (the Rate capped at one
	// request a microsecond, the finest a Limit holds). It is announced as a
	// second RateLimit-Policy item named Name+"-ip".
	//
	// The ceiling applies to requests keyed by client identity (no KeyFunc,
	// or KeyFunc reporting false); a KeyFunc key is the caller's own notion
	// of who is calling and has no IP ceiling.
	IPLimit Limit
	// IPMultiple sets the default IPLimit as a multiple of Limit. Zero means
	// DefaultIPMultiple (10: a household or office of ten clients behind
	// one address); a negative value turns the IP ceiling off, and is an
	// error together with an IPLimit.
	IPMultiple int
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
	// Observer, when set, is told of every decision (auditlog.LimitRate:
	// Name, allowed, limit, remaining; never the key or the IP). Package
	// auditlog/otel provides an OpenTelemetry one. Default none.
	Observer auditlog.Observer
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// DefaultIPMultiple is the default IP ceiling (Config.IPLimit) as a multiple
// of the per-client Limit.
const DefaultIPMultiple = 10

// Limiter is the rate-limit middleware. Safe for concurrent use.
//
// A request keyed by client identity is decided against two keys, in one
// decision path: its client key under Limit, then, only when that allows
// it, its IP group's key under IPLimit. Both go through the Store (so the
// Redis store shares both; two calls, two round trips). A request the IP
// ceiling refuses has already spent one request of its client's budget:
// the Store interface has no refund, and a client whose IP group is over
// its ceiling loses at most the requests it makes meanwhile.
type Limiter struct {
	cfg     Config
	ipOn    bool     // the IP ceiling applies
	mask    [32]byte // separates this limiter's keys from others in one store
	ipMask  [32]byte // the same for its IP-group keys
	policy  []string // precomputed RateLimit-Policy value
	failing atomic.Bool
	// rl (client) and rlIP (IP group) format RateLimit values.
	rl, rlIP rlFormat
}

// rlFormat formats one policy's RateLimit value. Its cache holds recently
// formatted values, so steady traffic sets the header without allocating:
// direct-mapped by (remaining, seconds), lock-free, entries immutable.
type rlFormat struct {
	prefix string // `"name";r=`
	cache  [rlCacheSize]atomic.Pointer[rlValue]
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
	switch {
	case c.IPMultiple < 0 && c.IPLimit != (Limit{}):
		return nil, errors.New("ratelimit: Config.IPMultiple " + strconv.Itoa(c.IPMultiple) + " turns the IP ceiling off while Config.IPLimit " + c.IPLimit.String() + " sets one")
	case c.IPLimit != (Limit{}):
		if err := c.IPLimit.check("Config.IPLimit"); err != nil {
			return nil, err
		}
	case c.IPMultiple >= 0:
		m := c.IPMultiple
		if m == 0 {
			m = DefaultIPMultiple
		}
		c.IPLimit = Limit{Rate: m * c.Limit.Rate, Period: c.Limit.Period, Burst: m * c.Limit.Burst}
		if c.IPLimit.Rate/m != c.Limit.Rate || c.IPLimit.Burst/m != c.Limit.Burst {
			return nil, errors.New("ratelimit: Config.IPLimit (" + strconv.Itoa(m) + " × Config.Limit " + c.Limit.String() + ") overflows; set Config.IPLimit or a negative Config.IPMultiple")
		}
		if c.IPLimit.Period/time.Duration(c.IPLimit.Rate) < time.Microsecond {
			// The multiplied rate is finer than a Limit holds (10 × a
			// client budget above 100,000/s): the ceiling is one request
			// a microsecond, with the multiplied burst.
			c.IPLimit = Limit{Rate: int(c.Limit.Period / time.Microsecond), Period: c.Limit.Period, Burst: m * c.Limit.burst()}
		}
		if err := c.IPLimit.check("Config.IPLimit (" + strconv.Itoa(m) + " × Config.Limit)"); err != nil {
			return nil, errors.New(err.Error() + "; set Config.IPLimit, or a negative Config.IPMultiple to turn the IP ceiling off")
		}
	}
	l := &Limiter{
		cfg:    c,
		ipOn:   c.IPMultiple >= 0,
		mask:   sha256.Sum256([]byte("apiguard/ratelimit/" + c.Name)),
		ipMask: sha256.Sum256([]byte("apiguard/ratelimit/ip/" + c.Name)),
	}
	pol := policyItem(c.Name, c.Limit)
	if l.ipOn {
		pol += ", " + policyItem(c.Name+"-ip", c.IPLimit)
	}
	l.policy = []string{pol}
	l.rl.prefix = strconv.Quote(c.Name) + ";r="
	l.rlIP.prefix = strconv.Quote(c.Name+"-ip") + ";r="
	return l, nil
}

// policyItem is one RateLimit-Policy item: `"name";q=<rate>;w=<seconds>`,
// with ;burst= when the burst is not the rate.
func policyItem(name string, l Limit) string {
	s := strconv.Quote(name) + ";q=" + strconv.Itoa(l.Rate) + ";w=" + strconv.FormatInt(ceilSeconds(l.Period), 10)
	if l.Burst != 0 && l.Burst != l.Rate {
		s += ";burst=" + strconv.Itoa(l.Burst)
	}
	return s
}

// MustNew is New for literal configuration: it panics on an error.
func MustNew(c Config) *Limiter {
	l, err := New(c)
	if err != nil {
		panic(err)
	}
	return l
}

// Check takes one request's worth of budget for r and returns the decision:
// the client's, or the IP group's when the IP ceiling refuses the request or
// leaves fewer requests (or as many, for longer), Decision.Limit then being
// Config.IPLimit. On a store error it returns the error and a decision that
// follows the fail-open/closed setting.
func (l *Limiter) Check(r *http.Request) (Decision, error) {
	d, _, err := l.check(r)
	return d, err
}

// check is Check, also reporting whether the decision is the IP group's.
func (l *Limiter) check(r *http.Request) (Decision, bool, error) {
	d, ip, err := l.decide(r)
	if l.cfg.Observer != nil {
		l.observe(r, d, ip, err)
	}
	return d, ip, err
}

// observe tells the Observer of a decision: the policy, never the client.
func (l *Limiter) observe(r *http.Request, d Decision, ip bool, err error) {
	name := l.cfg.Name
	if ip {
		name += "-ip"
	}
	l.cfg.Observer.LimitChecked(r.Context(), auditlog.LimitCheck{Kind: auditlog.LimitRate, Policy: name, Allowed: d.Allowed,
		Limit: d.Limit.Rate, Period: d.Limit.Period, Remaining: d.Remaining, RetryAfter: d.RetryAfter, StoreError: err != nil})
}

// decide is check without the Observer.
func (l *Limiter) decide(r *http.Request) (Decision, bool, error) {
	key, ipKey, byIP := l.keys(r)
	now := l.cfg.Now()
	d, err := l.cfg.Store.Allow(r.Context(), key, l.cfg.Limit, now, 1)
	ip := false
	if err == nil && d.Allowed && byIP {
		var di Decision
		if di, err = l.cfg.Store.Allow(r.Context(), ipKey, l.cfg.IPLimit, now, 1); err == nil && (!di.Allowed || di.Remaining < d.Remaining || di.Remaining == d.Remaining && di.ResetAfter > d.ResetAfter) {
			d, ip = di, true
		}
	}
	if err != nil {
		if l.failing.CompareAndSwap(false, true) {
			detail := "rate-limit store failing; failing open"
			if l.cfg.FailClosed {
				detail = "rate-limit store failing; failing closed"
			}
			l.cfg.Audit.Record(r, auditlog.Event{Name: auditlog.StoreUnavailable, Reason: "ratelimit_" + l.cfg.Name, Detail: detail})
		}
		return Decision{Allowed: !l.cfg.FailClosed, Limit: l.cfg.Limit, RetryAfter: time.Second}, false, err
	}
	if l.failing.Load() && l.failing.CompareAndSwap(true, false) {
		l.cfg.Audit.Record(r, auditlog.Event{Name: auditlog.StoreUnavailable, Reason: "ratelimit_" + l.cfg.Name, Detail: "rate-limit store recovered"})
	}
	return d, ip, nil
}

// keys returns the store keys of r, mixed with this limiter's masks: KeyFunc's
// or the client key, and, when the IP ceiling applies to r (byIP), its IP
// group's key (Identity.IPKey, a keyed hash that reveals no address).
func (l *Limiter) keys(r *http.Request) (key, ipKey [32]byte, byIP bool) {
	ok := false
	if l.cfg.KeyFunc != nil {
		key, ok = l.cfg.KeyFunc(r)
	}
	if !ok {
		key, ipKey = l.cfg.Identifier.clientKeys(r)
		byIP = l.ipOn
		xorKey(&ipKey, &l.ipMask)
	}
	xorKey(&key, &l.mask)
	return key, ipKey, byIP
}

// key returns the store key of r under Limit.
func (l *Limiter) key(r *http.Request) [32]byte {
	key, _, _ := l.keys(r)
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
		d, ip, err := l.check(r)
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
		if ip {
			h[hdrRateLimit] = l.rlIP.value(d.Remaining, d.ResetAfter)
		} else {
			h[hdrRateLimit] = l.rl.value(d.Remaining, d.ResetAfter)
		}
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

// value returns `"name";r=<remaining>;t=<seconds until the full quota is
// back>`, from the cache when it can.
func (f *rlFormat) value(remaining int, resetAfter time.Duration) []string {
	r, t := int64(remaining), ceilSeconds(resetAfter)
	slot := &f.cache[uint64(r*61+t)%rlCacheSize]
	if e := slot.Load(); e != nil && e.r == r && e.t == t {
		return e.v
	}
	var buf [96]byte
	b := append(buf[:0], f.prefix...)
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
