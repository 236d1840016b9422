package middleware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/middleware/jose"
)

// Defaults of the issuer resolver (Config.IssuerResolver).
const (
	// DefaultResolverCacheSize is how many issuers the resolver's answers
	// are kept for, trusted or not, least recently used first out.
	DefaultResolverCacheSize = 1000
	// DefaultResolverRate is how many resolver calls are made per second at
	// most, for all issuers together (with a burst of as many). A token
	// naming an issuer that is neither configured nor cached while the
	// budget is spent is refused (401 iss_unknown) without calling the
	// resolver.
	DefaultResolverRate = 10
	// MaxIssuerLength is the longest iss looked up; a longer one is unknown
	// without calling the resolver.
	MaxIssuerLength = 512
)

// TrustedIssuer is one issuer an Authenticator accepts tokens from, in
// Config.Issuers or from Config.IssuerResolver: its exact iss, the
// audiences its tokens may carry, its keys and its profile. A token naming
// this issuer is verified with these keys only, and its claims checked
// against this audience and profile only.
type TrustedIssuer struct {
	// Issuer is the exact iss. Required.
	Issuer string
	// Audience and Audiences: the token's audience must be one of them.
	// At least one is required.
	Audience  string
	Audiences []string
	// Exactly one key source, as in Config: Keys, JWKS, JWKSURL, PEM, or
	// Discovery (the jwks_uri of Issuer's OpenID Connect or RFC 8414
	// metadata, found in the background: tokens are answered 503 with
	// Retry-After until the keys arrive). Remote sources built here are the
	// Authenticator's, closed by Close (or, for a resolved issuer, when it
	// leaves the resolver's cache).
	Keys      jose.KeySource
	JWKS      []byte
	JWKSURL   string
	PEM       []byte
	Discovery bool
	// Profile says what the issuer's tokens look like; nil means
	// ProfileRFC9068.
	Profile *Profile
	// Algorithms is the issuer's alg allowlist; the default is as for
	// Config.Algorithms.
	Algorithms []string
}

// trusted is a TrustedIssuer checked and built by New (or by the resolver).
type trusted struct {
	name      string
	audiences []string
	keys      jose.KeySource
	algs      []string
	profile   *profile
	maxSize   int
	remote    *jose.RemoteJWKS     // built from JWKSURL
	disc      *jose.DiscoveredJWKS // built from Discovery
	resolved  bool                 // from the resolver
}

// close stops the remote clients the issuer owns.
func (t *trusted) close() error {
	var err error
	if t.remote != nil {
		err = t.remote.Close()
	}
	if t.disc != nil {
		err = errors.Join(err, t.disc.Close())
	}
	return err
}

// issuerEnv is what building an issuer needs from the rest of Config.
type issuerEnv struct {
	anyTyp   bool
	maxSize  int // Config.MaxTokenSize, 0 when not set
	audit    *auditlog.Logger
	observer auditlog.Observer
	now      func() time.Time
}

// buildIssuer checks ti and builds its key source; field names it in errors
// ("Config" for the shorthand, "Config.Issuers[1]"). Remote sources are
// started last, so that an error never leaks one.
func buildIssuer(ti *TrustedIssuer, field string, env issuerEnv) (*trusted, error) {
	if ti.Issuer == "" {
		return nil, fmt.Errorf("apiguard: %s.Issuer is empty", field)
	}
	t := &trusted{name: ti.Issuer}
	if ti.Audience != "" {
		t.audiences = append(t.audiences, ti.Audience)
	}
	for i, a := range ti.Audiences {
		if a == "" {
			return nil, fmt.Errorf("apiguard: %s.Audiences[%d] is empty", field, i)
		}
		t.audiences = append(t.audiences, a)
	}
	if len(t.audiences) == 0 {
		return nil, fmt.Errorf("apiguard: %s.Audience is empty", field)
	}
	var err error
	if t.profile, err = compileProfile(ti.Profile, field+".Profile", env.anyTyp); err != nil {
		return nil, err
	}
	t.maxSize = t.profile.maxSize
	if env.maxSize > 0 {
		t.maxSize = env.maxSize
	}

	var set []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"Keys", ti.Keys != nil}, {"JWKS", ti.JWKS != nil}, {"JWKSURL", ti.JWKSURL != ""}, {"PEM", ti.PEM != nil}, {"Discovery", ti.Discovery},
	} {
		if f.set {
			set = append(set, field+"."+f.name)
		}
	}
	switch len(set) {
	case 0:
		return nil, fmt.Errorf("apiguard: no key source: set one of %[1]s.Keys, %[1]s.JWKS, %[1]s.JWKSURL, %[1]s.PEM or %[1]s.Discovery", field)
	case 1:
	default:
		return nil, fmt.Errorf("apiguard: %s are all set: set exactly one key source", strings.Join(set, ", "))
	}
	var listed []*jose.Key
	unlisted := false
	switch {
	case ti.Keys != nil:
		t.keys = ti.Keys
		s, ok := ti.Keys.(*jose.StaticKeys)
		switch {
		case ok && s == nil:
			return nil, fmt.Errorf("apiguard: %s.Keys is a nil *jose.StaticKeys", field)
		case ok:
			listed = s.Keys()
		default:
			unlisted = true
		}
	case ti.JWKSURL != "", ti.Discovery:
		unlisted = true
	case ti.JWKS != nil:
		keys, err := jose.ParseJWKS(ti.JWKS)
		if err != nil {
			return nil, fmt.Errorf("apiguard: %s.JWKS: %w", field, err)
		}
		if t.keys, err = jose.NewStaticKeys(keys...); err != nil {
			return nil, fmt.Errorf("apiguard: %s.JWKS: %w", field, err)
		}
		listed = keys
	case ti.PEM != nil:
		keys, err := jose.ParsePEM(ti.PEM, "")
		if err != nil {
			return nil, fmt.Errorf("apiguard: %s.PEM: %w", field, err)
		}
		if t.keys, err = jose.NewStaticKeys(keys...); err != nil {
			return nil, fmt.Errorf("apiguard: %s.PEM: %w", field, err)
		}
		listed = keys
	}
	if t.algs, err = algorithms(ti.Algorithms, listed, unlisted, field); err != nil {
		return nil, err
	}
	// A remote key without "alg" (Entra ID, OneLogin, mojeID publish none)
	// is bound to the one allowed algorithm that fits it; with the default
	// allowlist, RSA keys to RS256 and Ed25519 keys to EdDSA, the algorithms
	// such providers sign with. An explicit Algorithms with two that fit
	// (RS256 and PS256) leaves such a key ambiguous: refused, never guessed.
	remote := jose.RemoteJWKSConfig{Audit: env.audit, Observer: env.observer, Algorithms: t.algs}
	if ti.Algorithms == nil {
		remote.DefaultAlgs = conventionalAlgs(t.algs)
	}
	// Last: nothing after these can fail, so no client leaks.
	switch {
	case ti.JWKSURL != "":
		remote.URL = ti.JWKSURL
		r, err := jose.NewRemoteJWKS(context.Background(), remote)
		if err != nil {
			return nil, fmt.Errorf("apiguard: %s.JWKSURL %q: %w", field, redactURL(ti.JWKSURL), err)
		}
		t.keys, t.remote = r, r
	case ti.Discovery:
		d, err := jose.NewDiscoveredJWKS(jose.DiscoveredJWKSConfig{
			Discovery: jose.DiscoveryConfig{Issuer: ti.Issuer, Now: env.now},
			JWKS:      remote,
		})
		if err != nil {
			return nil, fmt.Errorf("apiguard: %s.Discovery for Issuer %q: %w", field, ti.Issuer, err)
		}
		t.keys, t.disc = d, d
	}
	return t, nil
}

// conventionalAlgs are the algorithms a key without "alg" is bound to under
// the default allowlist where several would fit: RS256 for RSA, EdDSA for
// Ed25519 (EC keys are bound by their curve). Only those in algs.
func conventionalAlgs(algs []string) []string {
	var out []string
	for _, a := range algs {
		if a == jose.RS256 || a == jose.EdDSA {
			out = append(out, a)
		}
	}
	return out
}

// resolver caches the answers of Config.IssuerResolver in a bounded LRU
// (trusted and untrusted alike) and rate-limits the calls. Safe for
// concurrent use: one mutex, held only for map and list operations, never
// across a call of the resolver.
type resolver struct {
	fn   func(ctx context.Context, iss string) (*TrustedIssuer, error)
	env  issuerEnv
	cap  int
	rate float64 // calls per second, and the burst
	now  func() time.Time

	mu      sync.Mutex
	entries map[string]*resolved
	head    resolved // sentinel of the LRU list: head.next is the most recent
	tokens  float64
	last    time.Time
	calls   int // resolver calls made, for tests
}

type resolved struct {
	iss        string
	t          *trusted // nil: not trusted
	prev, next *resolved
}

func newResolver(fn func(context.Context, string) (*TrustedIssuer, error), size, rate int, env issuerEnv) *resolver {
	r := &resolver{fn: fn, env: env, cap: size, rate: float64(rate), now: env.now, entries: make(map[string]*resolved)}
	r.head.next, r.head.prev = &r.head, &r.head
	r.tokens = r.rate
	return r
}

// errRateLimited: the resolver's call budget is spent.
var errRateLimited = errors.New("apiguard: issuer resolver rate limit reached")

// lookup returns the issuer iss resolves to, nil when it is not trusted.
// An error (the resolver's own, or errRateLimited) is not cached.
func (r *resolver) lookup(ctx context.Context, iss string) (*trusted, error) {
	r.mu.Lock()
	if e, ok := r.entries[iss]; ok {
		r.moveFront(e)
		r.mu.Unlock()
		return e.t, nil
	}
	now := r.now()
	if !r.last.IsZero() {
		r.tokens += now.Sub(r.last).Seconds() * r.rate
		if r.tokens > r.rate {
			r.tokens = r.rate
		}
	}
	r.last = now
	if r.tokens < 1 {
		r.mu.Unlock()
		return nil, errRateLimited
	}
	r.tokens--
	r.calls++
	r.mu.Unlock()

	ti, err := r.fn(ctx, iss)
	if err != nil {
		return nil, err
	}
	var t *trusted
	if ti != nil {
		if ti.Issuer != iss {
			return nil, fmt.Errorf("apiguard: Config.IssuerResolver returned Issuer %q for %q", ti.Issuer, iss)
		}
		if t, err = buildIssuer(ti, "Config.IssuerResolver("+fmt.Sprintf("%q", iss)+")", r.env); err != nil {
			return nil, err
		}
		t.resolved = true
	}
	r.mu.Lock()
	if e, ok := r.entries[iss]; ok { // resolved concurrently: keep the first
		r.moveFront(e)
		r.mu.Unlock()
		if t != nil {
			_ = t.close()
		}
		return e.t, nil
	}
	e := &resolved{iss: iss, t: t}
	r.entries[iss] = e
	r.pushFront(e)
	var evicted *trusted
	if len(r.entries) > r.cap {
		old := r.head.prev
		r.unlink(old)
		delete(r.entries, old.iss)
		evicted = old.t
	}
	r.mu.Unlock()
	if evicted != nil {
		_ = evicted.close()
	}
	return t, nil
}

func (r *resolver) unlink(e *resolved) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (r *resolver) pushFront(e *resolved) {
	e.prev, e.next = &r.head, r.head.next
	r.head.next.prev = e
	r.head.next = e
}

func (r *resolver) moveFront(e *resolved) {
	if r.head.next == e {
		return
	}
	r.unlink(e)
	r.pushFront(e)
}

// close stops the remote clients of every cached issuer.
func (r *resolver) close() error {
	r.mu.Lock()
	var all []*trusted
	for _, e := range r.entries {
		if e.t != nil {
			all = append(all, e.t)
		}
	}
	r.entries = make(map[string]*resolved)
	r.head.next, r.head.prev = &r.head, &r.head
	r.mu.Unlock()
	var err error
	for _, t := range all {
		err = errors.Join(err, t.close())
	}
	return err
}

// stats returns the number of cached answers and of resolver calls made.
func (r *resolver) stats() (entries, calls int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.entries), r.calls
}

var _ io.Closer = (*jose.DiscoveredJWKS)(nil)
