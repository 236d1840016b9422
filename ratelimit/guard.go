package ratelimit

import (
	"crypto/sha256"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/apiguard/apiguard/auditlog"
)

// GuardConfig configures a Guard. The zero value is usable: a memory store,
// the default thresholds and lockouts, failing closed for logins.
type GuardConfig struct {
	// Store keeps failure counts and lockouts. Default: a GuardMemoryStore
	// with default options. Use redisstore.NewGuardStore (package
	// ratelimit/redisstore) to share lockouts between instances.
	Store GuardStore
	// Identifier computes client identities when no Identifier Handler put
	// one in the context, and keys account names. Default: no trusted proxy,
	// random secret. Instances sharing a Redis store must share its secret
	// (see redisstore.SharedSecret).
	Identifier *Identifier

	// Failed logins allowed before a lockout. Defaults: 5 per 15 minutes per
	// client (IP group + User-Agent), 30 per 15 minutes per IP group alone
	// (generous for NAT, and not reset by a new User-Agent), 50 per 15 minutes
	// per account (credential stuffing from many addresses).
	LoginPerClient, LoginPerIP, LoginPerAccount Limit
	// Invalid tokens allowed before a lockout. Defaults: 20 per 15 minutes per
	// client, 1,000 per 15 minutes per IP group.
	TokenPerClient, TokenPerIP Limit

	// LockoutBase is the first lockout's length; each further lockout of the
	// same key doubles it, up to LockoutMax, while it is remembered for
	// LockoutMemory after the previous one ends. Defaults 15 minutes, 24
	// hours, 24 hours.
	LockoutBase, LockoutMax, LockoutMemory time.Duration

	// LoginFailOpen lets logins through while the store fails. Default
	// false: closed, since an attacker who can break the store must not get
	// unlimited guesses.
	LoginFailOpen bool
	// TokenFailClosed refuses token routes while the store fails. Default
	// false: open, since the token itself is still verified.
	TokenFailClosed bool

	// Audit records lockouts and store failures. Default: none.
	Audit *auditlog.Logger
	// Observer, when set, is told of every lockout check (auditlog.LimitLockout,
	// policy "login" or "token": locked or not, for how long; never the key
	// or the IP). Default none.
	Observer auditlog.Observer
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Guard is the brute-force guard: it counts failures only (wrong passwords,
// invalid tokens) and locks out clients, IPs and accounts that fail too
// often. Safe for concurrent use.
type Guard struct {
	cfg     GuardConfig
	lock    Lockout
	failing atomic.Bool
	masks   [5][32]byte
}

const (
	kLoginClient = iota
	kLoginIP
	kLoginAccount
	kTokenClient
	kTokenIP
)

var guardReasons = [5]string{"login_client", "login_ip", "login_account", "token_client", "token_ip"}

// NewGuard validates c and returns a Guard.
func NewGuard(c GuardConfig) (*Guard, error) {
	def := func(l *Limit, name string, rate int) error {
		if *l == (Limit{}) {
			*l = Limit{Rate: rate, Period: 15 * time.Minute}
			return nil
		}
		return l.check("GuardConfig." + name)
	}
	for _, x := range []struct {
		l    *Limit
		name string
		rate int
	}{
		{&c.LoginPerClient, "LoginPerClient", 5},
		{&c.LoginPerIP, "LoginPerIP", 30},
		{&c.LoginPerAccount, "LoginPerAccount", 50},
		{&c.TokenPerClient, "TokenPerClient", 20},
		{&c.TokenPerIP, "TokenPerIP", 1000},
	} {
		if err := def(x.l, x.name, x.rate); err != nil {
			return nil, err
		}
	}
	durs := []struct {
		d    *time.Duration
		name string
		def  time.Duration
	}{
		{&c.LockoutBase, "LockoutBase", 15 * time.Minute},
		{&c.LockoutMax, "LockoutMax", 24 * time.Hour},
		{&c.LockoutMemory, "LockoutMemory", 24 * time.Hour},
	}
	for _, x := range durs {
		if *x.d == 0 {
			*x.d = x.def
		}
		if *x.d < time.Millisecond {
			return nil, &configError{"GuardConfig." + x.name + " " + x.d.String() + " must be at least 1ms"}
		}
	}
	if c.LockoutMax < c.LockoutBase {
		return nil, &configError{"GuardConfig.LockoutMax " + c.LockoutMax.String() + " is shorter than LockoutBase " + c.LockoutBase.String()}
	}
	if c.Store == nil {
		s, err := NewGuardMemoryStore(MemoryOptions{})
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
	g := &Guard{cfg: c, lock: Lockout{Base: c.LockoutBase, Max: c.LockoutMax, Memory: c.LockoutMemory}}
	for i, name := range guardReasons {
		g.masks[i] = sha256.Sum256([]byte("apiguard/guard/" + name))
	}
	return g, nil
}

// MustNewGuard is NewGuard for literal configuration: it panics on an error.
func MustNewGuard(c GuardConfig) *Guard {
	g, err := NewGuard(c)
	if err != nil {
		panic(err)
	}
	return g
}

type configError struct{ msg string }

func (e *configError) Error() string { return "ratelimit: " + e.msg }

func (g *Guard) key(kind int, ident Identity) [32]byte {
	k := ident.Key
	if kind == kLoginIP || kind == kTokenIP {
		k = ident.IPKey
	}
	xorKey(&k, &g.masks[kind])
	return k
}

func (g *Guard) limit(kind int) Limit {
	switch kind {
	case kLoginClient:
		return g.cfg.LoginPerClient
	case kLoginIP:
		return g.cfg.LoginPerIP
	case kLoginAccount:
		return g.cfg.LoginPerAccount
	case kTokenClient:
		return g.cfg.TokenPerClient
	default:
		return g.cfg.TokenPerIP
	}
}

// storeErr records a switch to a failing store once.
func (g *Guard) storeErr(r *http.Request, err error) {
	if err != nil && g.failing.CompareAndSwap(false, true) {
		g.cfg.Audit.Record(r, auditlog.Event{Name: auditlog.StoreUnavailable, Reason: "guard", Detail: "brute-force guard store failing"})
	}
}

func (g *Guard) storeOK(r *http.Request) {
	if g.failing.Load() && g.failing.CompareAndSwap(true, false) {
		g.cfg.Audit.Record(r, auditlog.Event{Name: auditlog.StoreUnavailable, Reason: "guard", Detail: "brute-force guard store recovered"})
	}
}

// check returns the longest lockout among keys, and tells the Observer.
func (g *Guard) check(r *http.Request, policy string, keys [][32]byte) (time.Duration, error) {
	d, err := g.locked(r, keys)
	if g.cfg.Observer != nil {
		allowed := d == 0
		if err != nil { // as CheckLogin and CheckToken decide
			allowed = policy == "login" && g.cfg.LoginFailOpen || policy == "token" && !g.cfg.TokenFailClosed
		}
		g.cfg.Observer.LimitChecked(r.Context(), auditlog.LimitCheck{Kind: auditlog.LimitLockout, Policy: policy,
			Allowed: allowed, RetryAfter: d, StoreError: err != nil})
	}
	return d, err
}

// locked returns the longest lockout among keys.
func (g *Guard) locked(r *http.Request, keys [][32]byte) (time.Duration, error) {
	now := g.cfg.Now()
	var longest time.Duration
	for _, k := range keys {
		d, err := g.cfg.Store.Locked(r.Context(), k, now)
		if err != nil {
			g.storeErr(r, err)
			return 0, err
		}
		longest = max(longest, d)
	}
	g.storeOK(r)
	return longest, nil
}

func (g *Guard) fail(r *http.Request, kinds []int, keys [][32]byte) error {
	now := g.cfg.Now()
	for i, k := range keys {
		started, err := g.cfg.Store.Fail(r.Context(), k, g.limit(kinds[i]), g.lock, now)
		if err != nil {
			g.storeErr(r, err)
			return err
		}
		if started > 0 {
			g.cfg.Audit.Record(r, auditlog.Event{
				Name:   auditlog.Lockout,
				Reason: guardReasons[kinds[i]],
				Status: http.StatusTooManyRequests,
				Detail: "locked out for " + strconv.FormatInt(ceilSeconds(started), 10) + "s",
			})
		}
	}
	g.storeOK(r)
	return nil
}

func (g *Guard) loginKeys(r *http.Request, account string) [][32]byte {
	ident := g.cfg.Identifier.identityOf(r)
	keys := [][32]byte{g.key(kLoginClient, ident), g.key(kLoginIP, ident)}
	if account != "" {
		a := g.cfg.Identifier.Derive("login-account", account)
		xorKey(&a, &g.masks[kLoginAccount])
		keys = append(keys, a)
	}
	return keys
}

var loginKinds = []int{kLoginClient, kLoginIP, kLoginAccount}

// CheckLogin is called before the password is checked. It reports whether
// the client, its IP group or the account is locked out, and for how long.
// On a store error it returns the error, and locked follows the
// LoginFailOpen setting (locked by default, with retryAfter one second).
func (g *Guard) CheckLogin(r *http.Request, account string) (retryAfter time.Duration, locked bool, err error) {
	d, err := g.check(r, "login", g.loginKeys(r, account))
	if err != nil {
		if g.cfg.LoginFailOpen {
			return 0, false, err
		}
		return time.Second, true, err
	}
	return d, d > 0, nil
}

// LoginFailed counts a failed login (wrong password or unknown account)
// against the client, its IP group and the account; a lockout that starts is
// recorded as an auditlog.Lockout event.
func (g *Guard) LoginFailed(r *http.Request, account string) error {
	keys := g.loginKeys(r, account)
	return g.fail(r, loginKinds[:len(keys)], keys)
}

// LoginSucceeded forgets the client's login failures (not its IP group's nor
// the account's, which other clients may be attacking).
func (g *Guard) LoginSucceeded(r *http.Request, account string) error {
	ident := g.cfg.Identifier.identityOf(r)
	err := g.cfg.Store.Reset(r.Context(), g.key(kLoginClient, ident))
	if err != nil {
		g.storeErr(r, err)
	}
	return err
}

var tokenKinds = []int{kTokenClient, kTokenIP}

// tokenKeys returns the client and IP-group keys of r, in tokenKinds'
// order, as an array: the check on every authenticated request then
// allocates nothing.
func (g *Guard) tokenKeys(r *http.Request) [2][32]byte {
	ident := g.cfg.Identifier.identityOf(r)
	return [2][32]byte{g.key(kTokenClient, ident), g.key(kTokenIP, ident)}
}

// TokenFailed counts an invalid token from r's client and IP group. Wire it
// to the token gate's failure hook. Errors are recorded in the audit log (a
// failing store is reported once).
func (g *Guard) TokenFailed(r *http.Request) {
	keys := g.tokenKeys(r)
	_ = g.fail(r, tokenKinds, keys[:])
}

// CheckToken reports whether r's client or IP group is locked out for
// invalid tokens. On a store error, locked follows TokenFailClosed.
func (g *Guard) CheckToken(r *http.Request) (retryAfter time.Duration, locked bool, err error) {
	keys := g.tokenKeys(r)
	d, err := g.check(r, "token", keys[:])
	if err != nil {
		if g.cfg.TokenFailClosed {
			return time.Second, true, err
		}
		return 0, false, err
	}
	return d, d > 0, nil
}

// Handler refuses requests from a client or IP group locked out for invalid
// tokens with 429 and Retry-After, before any token is checked.
func (g *Guard) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, locked, _ := g.CheckToken(r)
		if !locked {
			next.ServeHTTP(w, r)
			return
		}
		WriteLocked(w, d)
	})
}

// WriteLocked writes the guard's refusal: 429, Retry-After (whole seconds,
// rounded up) and a JSON body. Login handlers use it when CheckLogin says
// locked.
func WriteLocked(w http.ResponseWriter, retryAfter time.Duration) {
	h := w.Header()
	h[hdrRetryAfter] = []string{strconv.FormatInt(max(1, ceilSeconds(retryAfter)), 10)}
	h[hdrContentType] = jsonType
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write(bodyLimited)
}
