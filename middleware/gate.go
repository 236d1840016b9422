package middleware

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apiguard/apiguard/internal/strictjson"
)

// Defaults of GateConfig.
const (
	DefaultLeeway       = 30 * time.Second
	DefaultCacheSize    = 100_000
	DefaultCacheTTL     = 5 * time.Minute
	DefaultMaxTokenSize = 8 << 10
	// MaxKIDLength is the longest kid looked up; longer ones, and kids with
	// control characters, are unknown without asking the KeySource.
	MaxKIDLength = 256
)

// GateConfig configures a Gate. Issuer, Audience, Keys and Algorithms are
// required; every other zero field means its documented default.
type GateConfig struct {
	// Keys resolves the verification key from the header's kid and alg.
	Keys KeySource
	// Algorithms is the allowlist of header algs, for example
	// []string{middleware.RS256}. "none" in any case is a configuration error.
	Algorithms []string
	// Issuer is the exact iss required.
	Issuer string
	// Audience must be the aud string or one of the aud array.
	Audience string
	// Leeway is the clock skew allowed on exp, nbf and iat. Zero means
	// DefaultLeeway (30 s); use time.Nanosecond for practically none.
	Leeway time.Duration
	// MaxAge, when positive, requires iat and refuses tokens issued more than
	// MaxAge ago, whatever exp says. Zero: no limit.
	MaxAge time.Duration
	// AllowAnyTyp turns off the RFC 9068 profile check. By default (false)
	// the header's typ must be "at+jwt" or "application/at+jwt" (any case).
	AllowAnyTyp bool
	// Critical lists the header extensions (crit names) the application
	// understands. Default none: any token with crit is refused.
	Critical []string
	// Revocation, when set, is consulted on every request (cache hits
	// included) and makes jti required. An error from it answers 503.
	Revocation RevocationList
	// CacheSize caps the validation cache: 0 means DefaultCacheSize
	// (100,000 entries), a negative value turns the cache off.
	CacheSize int
	// CacheTTL is the longest an entry lives (also bounded by exp and by
	// iat+MaxAge). Zero means DefaultCacheTTL (5 min).
	CacheTTL time.Duration
	// MaxTokenSize is the largest token accepted, in bytes, checked before
	// anything else. Zero means DefaultMaxTokenSize (8 KiB).
	MaxTokenSize int
	// Validators run last, on cache misses only, in order; the first error
	// refuses the token with ReasonValidator (the error goes to Error.Err,
	// never to the client). They must not modify the claims.
	Validators []func(*Claims) error
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Gate verifies access tokens: the strict parse, header policy, key,
// signature, claims and revocation checks of the token gate, with a
// validation cache. A Gate is safe for concurrent use.
type Gate struct {
	keys       KeySource
	algs       []string
	issuer     string
	audience   string
	leeway     time.Duration
	maxAge     time.Duration
	anyTyp     bool
	critical   []string
	revocation RevocationList
	cache      *cache
	maxSize    int
	validators []func(*Claims) error
	now        func() time.Time
	b64        *base64.Encoding
}

var knownAlgs = [...]string{RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, HS256, HS384, HS512}

// NewGate validates cfg and returns a Gate. Every bad field is an error naming
// it.
func NewGate(cfg GateConfig) (*Gate, error) {
	g := &Gate{
		keys:       cfg.Keys,
		issuer:     cfg.Issuer,
		audience:   cfg.Audience,
		leeway:     cfg.Leeway,
		maxAge:     cfg.MaxAge,
		anyTyp:     cfg.AllowAnyTyp,
		revocation: cfg.Revocation,
		maxSize:    cfg.MaxTokenSize,
		now:        cfg.Now,
		b64:        base64.RawURLEncoding.Strict(),
	}
	if cfg.Keys == nil {
		return nil, errors.New("apiguard: GateConfig.Keys is nil")
	}
	if cfg.Issuer == "" {
		return nil, errors.New("apiguard: GateConfig.Issuer is empty")
	}
	if cfg.Audience == "" {
		return nil, errors.New("apiguard: GateConfig.Audience is empty")
	}
	if len(cfg.Algorithms) == 0 {
		return nil, errors.New("apiguard: GateConfig.Algorithms is empty")
	}
	for _, a := range cfg.Algorithms {
		if strings.EqualFold(strings.TrimSpace(a), "none") {
			return nil, fmt.Errorf("apiguard: GateConfig.Algorithms contains %q: unsigned tokens are never accepted", a)
		}
		known := false
		for _, k := range knownAlgs {
			known = known || a == k
		}
		if !known {
			return nil, fmt.Errorf("apiguard: GateConfig.Algorithms contains unknown algorithm %q", a)
		}
		dup := false
		for _, have := range g.algs {
			dup = dup || have == a
		}
		if !dup {
			g.algs = append(g.algs, a)
		}
	}
	switch {
	case cfg.Leeway < 0:
		return nil, fmt.Errorf("apiguard: GateConfig.Leeway is negative (%v)", cfg.Leeway)
	case cfg.Leeway == 0:
		g.leeway = DefaultLeeway
	}
	if cfg.MaxAge < 0 {
		return nil, fmt.Errorf("apiguard: GateConfig.MaxAge is negative (%v)", cfg.MaxAge)
	}
	for _, c := range cfg.Critical {
		if c == "" || c == "b64" {
			return nil, fmt.Errorf("apiguard: GateConfig.Critical contains %q, which the gate cannot honour", c)
		}
		g.critical = append(g.critical, c)
	}
	switch {
	case cfg.MaxTokenSize < 0:
		return nil, fmt.Errorf("apiguard: GateConfig.MaxTokenSize is negative (%d)", cfg.MaxTokenSize)
	case cfg.MaxTokenSize == 0:
		g.maxSize = DefaultMaxTokenSize
	case cfg.MaxTokenSize > strictjson.MaxSize:
		return nil, fmt.Errorf("apiguard: GateConfig.MaxTokenSize %d is above %d", cfg.MaxTokenSize, strictjson.MaxSize)
	}
	if cfg.CacheTTL < 0 {
		return nil, fmt.Errorf("apiguard: GateConfig.CacheTTL is negative (%v)", cfg.CacheTTL)
	}
	if cfg.CacheSize >= 0 {
		size, ttl := cfg.CacheSize, cfg.CacheTTL
		if size == 0 {
			size = DefaultCacheSize
		}
		if ttl == 0 {
			ttl = DefaultCacheTTL
		}
		g.cache = newCache(size, ttl)
	}
	for i, v := range cfg.Validators {
		if v == nil {
			return nil, fmt.Errorf("apiguard: GateConfig.Validators[%d] is nil", i)
		}
	}
	g.validators = append([]func(*Claims) error(nil), cfg.Validators...)
	if g.now == nil {
		g.now = time.Now
	}
	return g, nil
}

// Verify checks token through every step of the gate and returns its claims,
// or an *Error saying why not. The claims must not be modified (see Claims).
func (g *Gate) Verify(ctx context.Context, token string) (*Claims, error) {
	c, e := g.verify(ctx, token)
	if e != nil {
		return nil, e
	}
	return c, nil
}

func (g *Gate) verify(ctx context.Context, token string) (*Claims, *Error) {
	now := g.now()
	if c, ok := g.cached(token, now); ok {
		if e := g.checkRevoked(c); e != nil {
			return nil, e
		}
		return c, nil
	}
	return g.verifyMiss(ctx, token, now)
}

// cached returns the claims of a token validated before and still live at
// now. The caller must still check revocation.
func (g *Gate) cached(token string, now time.Time) (*Claims, bool) {
	if g.cache == nil || len(token) > g.maxSize {
		return nil, false
	}
	return g.cache.get(token, now)
}

// verifyMiss runs every step of the gate but the cache lookup.
func (g *Gate) verifyMiss(ctx context.Context, token string, now time.Time) (*Claims, *Error) {
	if len(token) > g.maxSize {
		return nil, newError(ReasonTokenTooLarge, nil)
	}

	// Shape.
	parts, reason := parseCompact(token, g.maxSize, g.b64)
	if reason != "" {
		return nil, newError(reason, nil)
	}

	// Header.
	var critBuf [4]string
	h := strictjson.Header{Crit: critBuf[:0]}
	if err := strictjson.ParseHeader(parts.header, &h); err != nil {
		return nil, jsonError(err, ReasonHeaderInvalid)
	}
	if e := g.checkHeader(&h); e != nil {
		return nil, e
	}

	// Key.
	key, e := g.lookupKey(ctx, &h)
	if e != nil {
		return nil, e
	}

	// Signature.
	if err := key.Verify(view(parts.signingInput), parts.sig); err != nil {
		e := newError(ReasonBadSignature, err)
		e.KID = key.ID()
		return nil, e
	}

	// Claims.
	c := &Claims{KID: h.Kid, Alg: h.Alg, raw: parts.payload}
	sc := strictjson.Claims{Aud: c.audBuf[:0], Roles: c.roleBuf[:0], Scope: c.scopeBuf[:0]}
	if err := strictjson.ParseClaims(parts.payload, &sc); err != nil {
		var te *strictjson.TypeError
		if errors.As(err, &te) && (te.Member == "exp" || te.Member == "nbf" || te.Member == "iat") {
			return nil, jsonError(err, ReasonExpInvalid)
		}
		return nil, jsonError(err, ReasonClaimInvalid)
	}
	c.Issuer, c.Subject, c.JTI = sc.Iss, sc.Sub, sc.Jti
	c.Audience = sc.Aud[:len(sc.Aud):len(sc.Aud)]
	c.Roles = sc.Roles[:len(sc.Roles):len(sc.Roles)]
	c.Scopes = sc.Scope[:len(sc.Scope):len(sc.Scope)]
	c.Expiry, c.NotBefore, c.IssuedAt = numericDate(sc.Exp), numericDate(sc.Nbf), numericDate(sc.Iat)
	if len(c.Audience) == 0 {
		c.Audience = nil
	}
	if len(c.Roles) == 0 {
		c.Roles = nil
	}
	if len(c.Scopes) == 0 {
		c.Scopes = nil
	}
	until, reason := g.checkClaims(c, &sc, now)
	if reason != "" {
		e := newError(reason, nil)
		e.KID, e.JTI = key.ID(), printable(c.JTI)
		return nil, e
	}
	for _, v := range g.validators {
		if err := v(c); err != nil {
			e := newError(ReasonValidator, err)
			e.KID, e.JTI = key.ID(), printable(c.JTI)
			return nil, e
		}
	}

	// Revocation.
	if e := g.checkRevoked(c); e != nil {
		return nil, e
	}
	if g.cache != nil {
		g.cache.put(token, c, now, until)
	}
	return c, nil
}

// jsonError maps a strictjson error; typeReason is used for a member of the
// wrong type.
func jsonError(err error, typeReason Reason) *Error {
	switch {
	case errors.Is(err, strictjson.ErrDuplicate):
		return newError(ReasonDuplicateKey, err)
	case errors.Is(err, strictjson.ErrType):
		return newError(typeReason, err)
	}
	return newError(ReasonBadJSON, err)
}

func (g *Gate) checkHeader(h *strictjson.Header) *Error {
	if h.Alg == "" {
		return newError(ReasonAlgMissing, nil)
	}
	if asciiEqualFold(strings.TrimSpace(h.Alg), "none") {
		return newError(ReasonAlgNone, nil)
	}
	allowed := false
	for _, a := range g.algs {
		if a == h.Alg {
			allowed = true
			break
		}
	}
	if !allowed {
		return newError(ReasonAlgNotAllowed, nil)
	}
	if h.HasJKU || h.HasX5U || h.HasJWK || h.HasX5C {
		return newError(ReasonEmbeddedKey, nil)
	}
	if h.HasCrit {
		for _, name := range h.Crit {
			understood := false
			for _, c := range g.critical {
				if name == c {
					understood = true
					break
				}
			}
			if !understood {
				return newError(ReasonCritUnsupported, nil)
			}
		}
	}
	if !g.anyTyp && !asciiEqualFold(h.Typ, "at+jwt") && !asciiEqualFold(h.Typ, "application/at+jwt") {
		return newError(ReasonTypInvalid, nil)
	}
	if asciiEqualFold(h.Cty, "JWT") || asciiEqualFold(h.Cty, "application/jwt") {
		return newError(ReasonNestedToken, nil)
	}
	return nil
}

func (g *Gate) lookupKey(ctx context.Context, h *strictjson.Header) (*Key, *Error) {
	if !kidOK(h.Kid) {
		// Too long or with control characters: no key source has such a kid,
		// and a remote one must not be made to refresh for it.
		return nil, newError(ReasonUnknownKID, nil)
	}
	key, err := g.keys.LookupKey(ctx, h.Kid, h.Alg)
	switch {
	case err == nil && key != nil:
	case err == nil || errors.Is(err, ErrKeyNotFound):
		// Does kid name a key of another algorithm? Then this is the
		// algorithm-confusion attack (HS256 "signed" with a public key),
		// reported as a threat rather than as an unknown kid.
		for _, a := range g.algs {
			if a == h.Alg {
				continue
			}
			if k, err := g.keys.LookupKey(ctx, h.Kid, a); err == nil && k != nil {
				e := newError(ReasonAlgMismatch, nil)
				e.KID = k.ID()
				return nil, e
			}
		}
		e := newError(ReasonUnknownKID, err)
		e.KID = printable(h.Kid)
		return nil, e
	default:
		e := newError(ReasonKeysUnavailable, err)
		var ra interface{ RetryAfter() time.Duration }
		if errors.As(err, &ra) && ra.RetryAfter() > 0 {
			e.RetryAfter = ra.RetryAfter()
		}
		return nil, e
	}
	if key.Alg() != h.Alg {
		// The KeySource contract already forbids this; never trust it alone.
		e := newError(ReasonAlgMismatch, nil)
		e.KID = key.ID()
		return nil, e
	}
	return key, nil
}

// checkClaims applies the claim rules and returns how long a cache entry for
// the token may live.
func (g *Gate) checkClaims(c *Claims, sc *strictjson.Claims, now time.Time) (time.Time, Reason) {
	if !sc.Exp.Set {
		return time.Time{}, ReasonExpMissing
	}
	if !c.Expiry.After(now.Add(-g.leeway)) {
		return time.Time{}, ReasonExpired
	}
	if sc.Nbf.Set && c.NotBefore.After(now.Add(g.leeway)) {
		return time.Time{}, ReasonNotYetValid
	}
	if sc.Iat.Set && c.IssuedAt.After(now.Add(g.leeway)) {
		return time.Time{}, ReasonIATFuture
	}
	until := c.Expiry
	if g.maxAge > 0 {
		if !sc.Iat.Set {
			return time.Time{}, ReasonIATMissing
		}
		if now.Sub(c.IssuedAt) > g.maxAge {
			return time.Time{}, ReasonTooOld
		}
		if old := c.IssuedAt.Add(g.maxAge); old.Before(until) {
			until = old
		}
	}
	if c.Issuer != g.issuer {
		return time.Time{}, ReasonIssMismatch
	}
	aud := false
	for _, a := range c.Audience {
		if a == g.audience {
			aud = true
			break
		}
	}
	if !aud {
		return time.Time{}, ReasonAudMismatch
	}
	if c.Subject == "" {
		return time.Time{}, ReasonSubMissing
	}
	if g.revocation != nil && c.JTI == "" {
		return time.Time{}, ReasonJTIMissing
	}
	return until, ""
}

func (g *Gate) checkRevoked(c *Claims) *Error {
	if g.revocation == nil {
		return nil
	}
	revoked, err := g.revocation.IsRevoked(c.Issuer, c.JTI, c.Subject, c.IssuedAt)
	if err != nil {
		e := newError(ReasonRevocationUnavailable, err)
		e.JTI = printable(c.JTI)
		return e
	}
	if revoked {
		e := newError(ReasonRevoked, nil)
		e.KID, e.JTI = printable(c.KID), printable(c.JTI)
		return e
	}
	return nil
}

// printable returns s when it is short printable ASCII, fit for a log field,
// and "" otherwise.
func printable(s string) string {
	if len(s) > MaxKIDLength {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return ""
		}
	}
	return s
}

// kidOK reports whether kid may be looked up: at most MaxKIDLength bytes and
// no control characters.
func kidOK(kid string) bool {
	if len(kid) > MaxKIDLength {
		return false
	}
	for i := 0; i < len(kid); i++ {
		if kid[i] < 0x20 || kid[i] == 0x7f {
			return false
		}
	}
	return true
}
