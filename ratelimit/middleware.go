package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/internal/problem"
)

// Config configures a Limiter. Limit or Policies is required; every other
// zero field means the default its doc names.
type Config struct {
	// Store keeps the limiter state. Default: a MemoryStore with default
	// MemoryOptions. Use a store from package ratelimit/redisstore to share
	// budgets between instances.
	Store Store
	// Limit is the budget per client, such as PerMinute(100) or
	// Limit{Rate: 100, Period: time.Minute, Burst: 20}: the shorthand for
	// one policy named Name. Set it or Policies, not both.
	Limit Limit
	// Policies are several budgets per client, all applied to every
	// request, such as a burst and a daily quota:
	//
	//	Policies: []ratelimit.Policy{
	//		{Name: "burst", Limit: ratelimit.PerSecond(20)},
	//		{Name: "daily", Limit: ratelimit.PerDay(1000)},
	//	}
	//
	// A request is admitted only when every policy (and IP ceiling)
	// admits it, and then counts against all of them; a refused request
	// counts against none. 1 to MaxPolicies policies, with distinct names
	// (see Policy.Name). Each is a RateLimit-Policy item; RateLimit names
	// the tightest (see Limiter.Handler).
	Policies []Policy
	// IPLimit is the ceiling on each IP group (an IPv4 address or, by
	// default, an IPv6 /64: Identity.Group) whatever User-Agents it sends,
	// so that rotating the agent, which makes a new client each time, does
	// not multiply the budget without end. Zero means IPMultiple × each
	// policy: Rate and Burst multiplied, the same Period (the Rate capped at
	// one request a microsecond, the finest a Limit holds), one ceiling per
	// policy, each announced as a RateLimit-Policy item named the policy's
	// name + "-ip" (Name+"-ip" with the Limit shorthand). A set IPLimit is
	// one ceiling, named Name+"-ip", whatever the policies.
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
	// Cost is the number of requests r counts as, against every policy
	// (an expensive search may cost 10). Default: 1 for every request. A
	// result below 1 counts as 1 (a request is never free). A cost above a
	// policy's burst (Limit.Burst, or Rate) could never fit: such a
	// request is refused at once (429 without Retry-After, as waiting
	// would not help) and consumes nothing. A request is admitted only
	// when its whole cost fits in every budget (the GCRA check is made
	// after adding the cost), so one that does not fit is refused and
	// consumes nothing. Cost runs on every request: keep it cheap.
	Cost func(r *http.Request) int
	// Shadow computes, counts and records the decisions but never enforces
	// them, to roll a limit out safely: every request reaches next; a
	// request the limiter would have refused is recorded in Audit as a
	// rate_limited event with reason "ratelimit_shadow" (so Audit's
	// Counter counts it) and a detail naming the policy. Budgets are
	// spent as they would be (a would-be refusal spends nothing). No
	// RateLimit-Policy or RateLimit field is sent: the draft's fields
	// invite clients to slow down, which would enforce the limit on
	// every well-behaved client and hide what the limit would do. Store
	// failures fail open. Shadow with FailClosed is an error.
	Shadow bool
	// PartitionKey adds the draft's pk parameter to RateLimit: an sf
	// Byte Sequence of the first 12 bytes of the budget's store key (a
	// keyed hash of the client or of its IP group, as Identifier computes
	// them), so that a client can tell its partitions apart and nobody can
	// recover an address from it. Default false: the value then varies
	// per client, so RateLimit is formatted per request (one allocation).
	PartitionKey bool
	// FailClosed refuses requests (503 with Retry-After: 1) while the store
	// fails. Default false: fail open, the right default for general limits
	// (a Redis outage must not take the API down); use true for login.
	FailClosed bool
	// ErrorWriter writes the refusal after the rate-limit headers and
	// Retry-After are set. Default: 429 with a JSON body
	// {"error":"rate_limited","error_description":"too many requests"}, or,
	// to a client whose Accept prefers application/problem+json, RFC 9457
	// problem details of the draft's quota-exceeded type naming the
	// violated policies (violated-policies).
	ErrorWriter func(w http.ResponseWriter, r *http.Request, d Decision)
	// Audit records each switch to and from a failing store, and every
	// refusal as auditlog.RateLimited (reason ratelimit_exceeded, or
	// ratelimit_shadow in Shadow mode, the detail naming the policy; the log
	// aggregates repeats per client). Default: none.
	Audit *auditlog.Logger
	// Observer, when set, is told of every decision (auditlog.LimitRate:
	// the deciding policy's name, allowed, limit, remaining; never the key
	// or the IP). Package auditlog/otel provides an OpenTelemetry one.
	// Default none.
	Observer auditlog.Observer
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// DefaultIPMultiple is the default IP ceiling (Config.IPLimit) as a multiple
// of the per-client Limit.
const DefaultIPMultiple = 10

// Policy is one named budget of a limiter (Config.Policies).
type Policy struct {
	// Name names the policy in RateLimit-Policy, RateLimit and a
	// quota-exceeded problem's violated-policies: a letter, then up to 63
	// letters, digits, '-', '_' or '.' (a valid sf-token, written as an
	// sf-string as the draft's examples do).
	Name string
	// Limit is the budget; see Config.Limit.
	Limit Limit
}

// Limiter is the rate-limit middleware. Safe for concurrent use.
//
// A request keyed by client identity is decided against its client key
// under each policy and, with the IP ceiling, its IP group's key under each
// ceiling: all claims in one call of the Store's AllowBatch (BatchStore), so
// the Redis store decides them in one script and one round trip, and a
// request any claim refuses consumes nothing from any. With a Store that is
// not a BatchStore, the claims are asked one by one (first whether each fits,
// then taken): under concurrency a request may then be counted by some
// policies and refused by a later one.
type Limiter struct {
	cfg     Config
	ipOn    bool     // the IP ceiling applies
	mask    [32]byte // separates this limiter's keys from others in one store
	ipMask  [32]byte // the same for its IP-group keys (and a batch's group)
	pols    []policy // the client policies, then the IP ceilings
	nClient int      // client policies in pols
	policy  []string // precomputed RateLimit-Policy value
	mem     *MemoryStore
	batch   BatchStore
	failing atomic.Bool
	// precomputed problem bodies
	unavailProblem []byte
}

// policy is one budget of a limiter: a client policy or an IP ceiling.
type policy struct {
	name   string
	limit  Limit
	mask   [32]byte // mixed into the limiter's client (or IP-group) key; zero for the shorthand
	ip     bool
	burst  int
	rl     *rlFormat // formats its RateLimit value
	shadow string    // the audit detail of a shadow refusal
	refuse string    // the audit detail of an enforced refusal
	quota  []byte    // the quota-exceeded problem naming it alone
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

// shadowReason is the audit reason of a decision Shadow did not enforce.
// Reasons of the rate_limited audit events: a refusal in shadow mode, and
// an enforced one (429). The audit log aggregates them per client and
// minute, so a flood writes a bounded number of lines.
const (
	shadowReason  = "ratelimit_shadow"
	limitedReason = "ratelimit_exceeded"
)

var (
	jsonType    = []string{"application/json"}
	retryOne    = []string{"1"}
	bodyLimited = []byte(`{"error":"rate_limited","error_description":"too many requests"}` + "\n")
	bodyUnavail = []byte(`{"error":"temporarily_unavailable","error_description":"try again later"}` + "\n")
)

// Problem titles: short and fixed.
const (
	titleQuota   = "Too many requests"
	titleUnavail = "Service temporarily unavailable"
)

// New validates c and returns a Limiter.
func New(c Config) (*Limiter, error) {
	if c.Name == "" {
		c.Name = "default"
	}
	for i := 0; i < len(c.Name); i++ {
		ch := c.Name[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.') || i >= 64 {
			return nil, errors.New("ratelimit: Config.Name " + strconv.Quote(c.Name) + " must be 1 to 64 letters, digits, '-', '_' or '.'")
		}
	}
	pols, err := c.policies()
	if err != nil {
		return nil, err
	}
	if c.Shadow && c.FailClosed {
		return nil, errors.New("ratelimit: Config.Shadow never refuses a request while Config.FailClosed refuses them when the store fails; set one")
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
	l := &Limiter{
		cfg:    c,
		ipOn:   c.IPMultiple >= 0,
		mask:   sha256.Sum256([]byte("apiguard/ratelimit/" + c.Name)),
		ipMask: sha256.Sum256([]byte("apiguard/ratelimit/ip/" + c.Name)),
	}
	// The shorthand keeps the keys it always had (mask and ipMask alone);
	// each of several policies mixes in a mask of its own.
	one := len(c.Policies) == 0
	for _, p := range pols {
		if !one {
			p.mask = sha256.Sum256([]byte("apiguard/ratelimit/policy/" + c.Name + "/" + p.name))
		}
		l.pols = append(l.pols, p)
	}
	l.nClient = len(l.pols)
	ceil, err := c.ceilings(pols)
	if err != nil {
		return nil, err
	}
	for _, p := range ceil {
		if len(ceil) > 1 {
			p.mask = sha256.Sum256([]byte("apiguard/ratelimit/policy/ip/" + c.Name + "/" + p.name))
		}
		l.pols = append(l.pols, p)
	}
	if len(ceil) == 1 {
		l.cfg.IPLimit = ceil[0].limit
	}
	seen := map[string]bool{}
	pol := ""
	for i := range l.pols {
		p := &l.pols[i]
		if seen[p.name] {
			return nil, errors.New("ratelimit: Config.Policies: the name " + strconv.Quote(p.name) + " is used twice (IP ceilings are named <policy>-ip)")
		}
		seen[p.name] = true
		p.burst = p.limit.burst()
		p.rl = &rlFormat{prefix: strconv.Quote(p.name) + ";r="}
		p.shadow = "shadow mode, not enforced: policy " + strconv.Quote(p.name) + " would refuse"
		p.refuse = "refused by policy " + strconv.Quote(p.name)
		p.quota = problem.Details{Type: problem.TypeQuotaExceeded, Title: titleQuota, Status: http.StatusTooManyRequests, ViolatedPolicies: []string{p.name}}.Body()
		if i > 0 {
			pol += ", "
		}
		pol += policyItem(p.name, p.limit)
	}
	l.policy = []string{pol}
	l.unavailProblem = problem.Details{Type: problem.TypeTemporaryReducedCapacity, Title: titleUnavail, Status: http.StatusServiceUnavailable}.Body()
	l.mem, _ = c.Store.(*MemoryStore)
	l.batch, _ = c.Store.(BatchStore)
	return l, nil
}

// policies validates the client policies of c: Policies, or Limit as one
// policy named Name.
func (c *Config) policies() ([]policy, error) {
	switch {
	case c.Limit != (Limit{}) && len(c.Policies) > 0:
		return nil, errors.New("ratelimit: Config.Limit " + c.Limit.String() + " and Config.Policies are both set; Limit is the shorthand for one policy")
	case len(c.Policies) > MaxPolicies:
		return nil, errors.New("ratelimit: Config.Policies has " + strconv.Itoa(len(c.Policies)) + " policies; at most " + strconv.Itoa(MaxPolicies))
	case len(c.Policies) > 0:
		ps := make([]policy, 0, len(c.Policies))
		for i, p := range c.Policies {
			field := "Config.Policies[" + strconv.Itoa(i) + "]"
			if !policyName(p.Name) {
				return nil, errors.New("ratelimit: " + field + ".Name " + strconv.Quote(p.Name) + " must be a letter and up to 63 letters, digits, '-', '_' or '.'")
			}
			if p.Limit == (Limit{}) {
				return nil, errors.New("ratelimit: " + field + ".Limit is zero")
			}
			if err := p.Limit.check(field + ".Limit"); err != nil {
				return nil, err
			}
			ps = append(ps, policy{name: p.Name, limit: p.Limit})
		}
		return ps, nil
	case c.Limit == (Limit{}):
		return nil, errors.New("ratelimit: Config.Limit is zero; set a budget such as ratelimit.PerMinute(100), or Config.Policies")
	}
	if err := c.Limit.check("Config.Limit"); err != nil {
		return nil, err
	}
	return []policy{{name: c.Name, limit: c.Limit}}, nil
}

// ceilings validates the IP ceilings of c over its client policies: none
// (a negative IPMultiple), one IPLimit, or IPMultiple × each policy.
func (c *Config) ceilings(pols []policy) ([]policy, error) {
	switch {
	case c.IPMultiple < 0 && c.IPLimit != (Limit{}):
		return nil, errors.New("ratelimit: Config.IPMultiple " + strconv.Itoa(c.IPMultiple) + " turns the IP ceiling off while Config.IPLimit " + c.IPLimit.String() + " sets one")
	case c.IPMultiple < 0:
		return nil, nil
	case c.IPLimit != (Limit{}):
		if err := c.IPLimit.check("Config.IPLimit"); err != nil {
			return nil, err
		}
		return []policy{{name: c.Name + "-ip", limit: c.IPLimit, ip: true}}, nil
	}
	m := c.IPMultiple
	if m == 0 {
		m = DefaultIPMultiple
	}
	ceil := make([]policy, 0, len(pols))
	for _, p := range pols {
		field := "Config.Limit"
		if len(c.Policies) > 0 {
			field = "policy " + strconv.Quote(p.name)
		}
		cl := p.limit
		ip := Limit{Rate: m * cl.Rate, Period: cl.Period, Burst: m * cl.Burst}
		if ip.Rate/m != cl.Rate || ip.Burst/m != cl.Burst {
			return nil, errors.New("ratelimit: Config.IPLimit (" + strconv.Itoa(m) + " × " + field + " " + cl.String() + ") overflows; set Config.IPLimit or a negative Config.IPMultiple")
		}
		if ip.Period/time.Duration(ip.Rate) < time.Microsecond {
			// The multiplied rate is finer than a Limit holds (10 × a
			// client budget above 100,000/s): the ceiling is one request
			// a microsecond, with the multiplied burst.
			ip = Limit{Rate: int(cl.Period / time.Microsecond), Period: cl.Period, Burst: m * cl.burst()}
		}
		if err := ip.check("Config.IPLimit (" + strconv.Itoa(m) + " × " + field + ")"); err != nil {
			return nil, errors.New(err.Error() + "; set Config.IPLimit, or a negative Config.IPMultiple to turn the IP ceiling off")
		}
		ceil = append(ceil, policy{name: p.name + "-ip", limit: ip, ip: true})
	}
	return ceil, nil
}

// policyName reports whether s is a valid Policy.Name.
func policyName(s string) bool {
	if s == "" || len(s) > 64 || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.') {
			return false
		}
	}
	return true
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

// Check takes r's cost (Config.Cost, default 1) from every budget of r and
// returns the deciding decision: when admitted, the tightest budget's (the
// fewest requests remaining, or as many for longer); when refused, the
// violated budget's that frees last (its RetryAfter is when r would fit).
// Decision.Policy names it; Decision.Limit is its limit. On a store error it
// returns the error and a decision that follows the fail-open/closed
// setting. Check enforces nothing itself, in Shadow mode or not.
func (l *Limiter) Check(r *http.Request) (Decision, error) {
	var v verdict
	err := l.check(r, &v)
	return v.d, err
}

// verdict is one request's outcome, on the caller's stack.
type verdict struct {
	d        Decision
	idx      int // the deciding policy in pols
	admitted bool
	never    bool // the cost exceeds a burst: refused without asking the store
	k        int  // claims decided
	pidx     [MaxClaims]uint8
	claims   [MaxClaims]Claim
	out      [MaxClaims]Decision
}

var verdictPool = sync.Pool{New: func() any { return new(verdict) }}

// check decides r into v, and tells the Observer.
func (l *Limiter) check(r *http.Request, v *verdict) error {
	err := l.decide(r, v)
	if l.cfg.Observer != nil {
		l.observe(r, v.d, err)
	}
	return err
}

// observe tells the Observer of a decision: the policy, never the client.
func (l *Limiter) observe(r *http.Request, d Decision, err error) {
	l.cfg.Observer.LimitChecked(r.Context(), auditlog.LimitCheck{Kind: auditlog.LimitRate, Policy: d.Policy, Allowed: d.Allowed,
		Limit: d.Limit.Rate, Period: d.Limit.Period, Remaining: d.Remaining, RetryAfter: d.RetryAfter, StoreError: err != nil})
}

// decide decides r into v, writing every field it later reads.
func (l *Limiter) decide(r *http.Request, v *verdict) error {
	v.d, v.idx, v.admitted, v.never = Decision{}, 0, false, false
	key, ipKey, byIP := l.keys(r)
	cost := 1
	if l.cfg.Cost != nil {
		cost = max(l.cfg.Cost(r), 1)
	}
	claims := &v.claims
	k := 0
	for i := range l.pols {
		p := &l.pols[i]
		if p.ip && !byIP {
			continue
		}
		if p.ip {
			claims[k].Key = ipKey
		} else {
			claims[k].Key = key
		}
		if p.mask != ([32]byte{}) {
			xorKey(&claims[k].Key, &p.mask)
		}
		claims[k].Limit = p.limit
		v.pidx[k] = uint8(i)
		if cost > p.burst {
			v.never = true
			v.out[k] = Decision{Limit: p.limit, Policy: p.name}
		} else {
			v.out[k] = Decision{Allowed: true, Limit: p.limit, Policy: p.name}
		}
		k++
	}
	v.k = k
	if v.never {
		// No budget could ever hold it: refused, nothing asked or taken.
		for i := range k {
			if !v.out[i].Allowed {
				v.d, v.idx = v.out[i], int(v.pidx[i])
				break
			}
		}
		return nil
	}
	group := claims[0].Key
	if byIP {
		group = ipKey
	}
	var err error
	switch {
	case l.mem != nil:
		v.admitted, err = l.mem.AllowBatch(r.Context(), group, claims[:k], l.cfg.Now(), cost, v.out[:k])
	default:
		v.admitted, err = l.allowStore(r.Context(), group, claims[:k], l.cfg.Now(), cost, v.out[:k])
	}
	if err != nil {
		if l.failing.CompareAndSwap(false, true) {
			detail := "rate-limit store failing; failing open"
			if l.cfg.FailClosed {
				detail = "rate-limit store failing; failing closed"
			}
			l.cfg.Audit.Record(r, auditlog.Event{Name: auditlog.StoreUnavailable, Reason: "ratelimit_" + l.cfg.Name, Detail: detail})
		}
		v.admitted = !l.cfg.FailClosed
		v.d = Decision{Allowed: v.admitted, Limit: l.pols[0].limit, Policy: l.pols[0].name, RetryAfter: time.Second}
		return err
	}
	if l.failing.Load() && l.failing.CompareAndSwap(true, false) {
		l.cfg.Audit.Record(r, auditlog.Event{Name: auditlog.StoreUnavailable, Reason: "ratelimit_" + l.cfg.Name, Detail: "rate-limit store recovered"})
	}
	best := -1
	for i := range k {
		d := &v.out[i]
		d.Policy = l.pols[v.pidx[i]].name
		switch {
		case best < 0:
			best = i
		case v.admitted:
			// the tightest: the fewest remaining, or as many for longer
			if b := &v.out[best]; d.Remaining < b.Remaining || d.Remaining == b.Remaining && d.ResetAfter > b.ResetAfter {
				best = i
			}
		case !d.Allowed:
			// the violated policy that frees last
			if b := &v.out[best]; b.Allowed || d.RetryAfter > b.RetryAfter {
				best = i
			}
		}
	}
	v.d, v.idx = v.out[best], int(v.pidx[best])
	v.d.Allowed = v.admitted
	return nil
}

// allowStore is AllowBatch on a store other than a MemoryStore: claims and
// out are copied through a pooled buffer, so that the caller's arrays stay
// on its stack whatever the store does with them.
func (l *Limiter) allowStore(ctx context.Context, group [32]byte, claims []Claim, now time.Time, n int, out []Decision) (bool, error) {
	b := batchPool.Get().(*batchBuf)
	defer batchPool.Put(b)
	k := copy(b.claims[:], claims)
	var (
		ok  bool
		err error
	)
	if l.batch != nil {
		ok, err = l.batch.AllowBatch(ctx, group, b.claims[:k], now, n, b.out[:k])
	} else {
		ok, err = allowEach(ctx, l.cfg.Store, b.claims[:k], now, n, b.out[:k])
	}
	copy(out, b.out[:k])
	return ok, err
}

type batchBuf struct {
	claims [MaxClaims]Claim
	out    [MaxClaims]Decision
}

var batchPool = sync.Pool{New: func() any { return new(batchBuf) }}

// allowEach decides claims on a plain Store: one claim is one Allow; more
// are first asked whether n fits (n = 0 reports), then taken one by one,
// which is not atomic under concurrency (see Limiter).
func allowEach(ctx context.Context, s Store, claims []Claim, now time.Time, n int, out []Decision) (bool, error) {
	if len(claims) == 1 {
		d, err := s.Allow(ctx, claims[0].Key, claims[0].Limit, now, n)
		out[0] = d
		return d.Allowed, err
	}
	all := true
	for i, c := range claims {
		d, err := s.Allow(ctx, c.Key, c.Limit, now, 0)
		if err != nil {
			return false, err
		}
		if d.Remaining < n {
			d.Allowed = false
			d.RetryAfter = time.Duration(n-d.Remaining) * c.Limit.Interval()
			all = false
		}
		out[i] = d
	}
	if !all {
		return false, nil
	}
	for i, c := range claims {
		d, err := s.Allow(ctx, c.Key, c.Limit, now, n)
		if err != nil {
			return false, err
		}
		out[i] = d
		if !d.Allowed {
			all = false
		}
	}
	return all, nil
}

// keys returns the store keys of r, mixed with this limiter's masks: KeyFunc's
// or the client key, and, when the IP ceiling applies to r (byIP), its IP
// group's key (Identity.IPKey, a keyed hash that reveals no address). Each
// policy of several mixes in its own mask too (policy.mask).
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

// key returns the store key of r under its first policy.
func (l *Limiter) key(r *http.Request) [32]byte {
	key, _, _ := l.keys(r)
	xorKey(&key, &l.pols[0].mask)
	return key
}

// xorKey mixes a per-limiter (or per-purpose) mask into key, so that users
// of one store never share state; keys stay uniformly distributed.
func xorKey(key, mask *[32]byte) {
	for i := 0; i < 32; i += 8 {
		binary.LittleEndian.PutUint64(key[i:], binary.LittleEndian.Uint64(key[i:])^binary.LittleEndian.Uint64(mask[i:]))
	}
}

// Handler limits next. Responses carry RateLimit-Policy (every policy and
// IP ceiling) and RateLimit for the deciding budget (see Check: the
// tightest when admitted, the violated one that frees last when refused),
// with its pk when Config.PartitionKey is set. Refused requests get 429,
// Retry-After in whole seconds rounded up, and the ErrorWriter's body (by
// default JSON, or quota-exceeded problem details to a client that prefers
// them). A store failure with FailClosed is a 503 with Retry-After: 1 (or
// temporary-reduced-capacity problem details). In Shadow mode nothing is
// enforced and no rate-limit field is sent (see Config.Shadow).
func (l *Limiter) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A pooled verdict: its 2 KB of arrays are not zeroed per request
		// (check writes every entry it reads).
		v := verdictPool.Get().(*verdict)
		defer verdictPool.Put(v)
		err := l.check(r, v)
		if l.cfg.Shadow {
			if !v.admitted && err == nil {
				l.cfg.Audit.Record(r, auditlog.Event{Name: auditlog.RateLimited, Reason: shadowReason, Detail: l.pols[v.idx].shadow})
			}
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		if err != nil {
			if v.admitted {
				next.ServeHTTP(w, r)
				return
			}
			h[hdrRetryAfter] = retryOne
			if problem.Prefers(r) {
				problem.WriteBody(w, http.StatusServiceUnavailable, l.unavailProblem)
				return
			}
			h[hdrContentType] = jsonType
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write(bodyUnavail)
			return
		}
		h[hdrPolicy] = l.policy
		p := &l.pols[v.idx]
		if !v.never {
			if l.cfg.PartitionKey {
				h[hdrRateLimit] = p.rl.withPK(v.d.Remaining, v.d.ResetAfter, &v.claims[l.claimOf(v)].Key)
			} else {
				h[hdrRateLimit] = p.rl.value(v.d.Remaining, v.d.ResetAfter)
			}
		}
		if v.admitted {
			next.ServeHTTP(w, r)
			return
		}
		if !v.never {
			h[hdrRetryAfter] = []string{strconv.FormatInt(ceilSeconds(v.d.RetryAfter), 10)}
		}
		l.cfg.Audit.Record(r, auditlog.Event{Name: auditlog.RateLimited, Reason: limitedReason, Status: http.StatusTooManyRequests, Detail: p.refuse})
		if l.cfg.ErrorWriter != nil {
			l.cfg.ErrorWriter(w, r, v.d)
			return
		}
		if problem.Prefers(r) {
			problem.WriteBody(w, http.StatusTooManyRequests, l.quotaProblem(v))
			return
		}
		h[hdrContentType] = jsonType
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write(bodyLimited)
	})
}

// claimOf returns the index in v's claims of the deciding policy.
func (l *Limiter) claimOf(v *verdict) int {
	for i := range v.k {
		if int(v.pidx[i]) == v.idx {
			return i
		}
	}
	return 0
}

// quotaProblem returns the quota-exceeded body of a refusal, naming every
// violated policy.
func (l *Limiter) quotaProblem(v *verdict) []byte {
	var names []string
	for i := range v.k {
		if !v.out[i].Allowed {
			names = append(names, l.pols[v.pidx[i]].name)
		}
	}
	if len(names) == 1 {
		return l.pols[v.idx].quota
	}
	return problem.Details{Type: problem.TypeQuotaExceeded, Title: titleQuota, Status: http.StatusTooManyRequests, ViolatedPolicies: names}.Body()
}

// value returns `"name";r=<remaining>;t=<seconds until the full quota is
// back>`, from the cache when it can.
func (f *rlFormat) value(remaining int, resetAfter time.Duration) []string {
	r, t := int64(remaining), ceilSeconds(resetAfter)
	slot := &f.cache[uint64(r*61+t)%rlCacheSize]
	if e := slot.Load(); e != nil && e.r == r && e.t == t {
		return e.v
	}
	v := []string{string(f.appendValue(make([]byte, 0, 96), r, t))}
	slot.Store(&rlValue{r: r, t: t, v: v})
	return v
}

// withPK returns the value with ;pk=:<base64>: of the first pkBytes of
// key, a keyed hash (see Config.PartitionKey).
func (f *rlFormat) withPK(remaining int, resetAfter time.Duration, key *[32]byte) []string {
	b := f.appendValue(make([]byte, 0, 128), int64(remaining), ceilSeconds(resetAfter))
	b = append(b, ";pk=:"...)
	b = base64.StdEncoding.AppendEncode(b, key[:pkBytes])
	b = append(b, ':')
	return []string{string(b)}
}

// pkBytes is how much of a store key a pk shows: 96 bits, enough to tell
// partitions apart, a small part of a key that is itself a keyed hash.
const pkBytes = 12

func (f *rlFormat) appendValue(b []byte, r, t int64) []byte {
	b = append(b, f.prefix...)
	b = strconv.AppendInt(b, r, 10)
	b = append(b, ";t="...)
	return strconv.AppendInt(b, t, 10)
}

// ceilSeconds rounds d up to whole seconds (never below 0).
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
