package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/internal/strictjson"
	"github.com/apiguard/apiguard/middleware/jose"
)

// Defaults of Config.
const (
	DefaultRealm        = "api"
	DefaultLeeway       = 30 * time.Second
	DefaultCacheSize    = 100_000
	DefaultCacheTTL     = 5 * time.Minute
	DefaultMaxTokenSize = 8 << 10
	// MaxKIDLength is the longest kid looked up; longer ones, and kids with
	// control characters, are unknown without asking the key source.
	MaxKIDLength = 256
)

// FailureCounter is told of refusals caused by the client's credentials.
// *ratelimit.Guard is one: Config.Failures set to a guard counts invalid
// tokens towards its brute-force lockout.
type FailureCounter interface {
	TokenFailed(r *http.Request)
}

// Config configures an Authenticator. Issuer, Audience and exactly one key
// source (Keys, JWKS, JWKSURL or PEM) are required; every other zero field
// means its documented default.
type Config struct {
	// Keys resolves the verification key from the header's kid and alg: a
	// *jose.StaticKeys, a *jose.RemoteJWKS, a *token.Issuer, a
	// jose.MultiKeySource of several... Exactly one of Keys, JWKS, JWKSURL
	// and PEM must be set.
	Keys jose.KeySource
	// JWKS is a JWK Set document; every key in it must parse
	// (jose.ParseJWKS), and must carry its alg.
	JWKS []byte
	// JWKSURL is the URL of a remote JWK Set, fetched at construction and
	// refreshed in the background (jose.NewRemoteJWKS with its defaults:
	// https, or http on a loopback host). The Authenticator owns that
	// client: call Close to stop it. For other settings, build the
	// jose.RemoteJWKS yourself and pass it as Keys.
	JWKSURL string
	// PEM holds public keys, certificates or PKCS#8 private keys (reduced to
	// their public half), each bound to its default algorithm
	// (jose.DefaultAlg: RS256 for RSA, ES256/384/512 by curve, EdDSA for
	// Ed25519) under its thumbprint as kid (jose.ParsePEM).
	PEM []byte

	// Algorithms is the allowlist of header algs, for example
	// []string{jose.RS256}. "none" in any case is a configuration error.
	// Default: taken from the keys. For JWKS, PEM, and a Keys that lists its
	// keys (*jose.StaticKeys), the algorithm of each key; for JWKSURL and
	// any other Keys (a remote set, an issuer, several sources), the
	// asymmetric algorithms RS*, PS*, ES* and EdDSA: each key is bound to
	// its one algorithm and the header's alg must equal it, so the list only
	// keeps HMAC out. Set it to accept HS* from such a source.
	Algorithms []string
	// Issuer is the exact iss required. Required.
	Issuer string
	// Audience must be the aud string or one of the aud array. Required.
	Audience string
	// Leeway is the clock skew allowed on exp, nbf and iat. Zero means
	// DefaultLeeway (30 s); use time.Nanosecond for practically none.
	Leeway time.Duration
	// MaxAge, when positive, requires iat and refuses tokens issued more than
	// MaxAge ago, whatever exp says. Default zero: no limit.
	MaxAge time.Duration
	// AllowAnyTyp turns off the RFC 9068 profile check. By default (false)
	// the header's typ must be "at+jwt" or "application/at+jwt" (any case).
	AllowAnyTyp bool
	// Critical lists the header extensions (crit names) the application
	// understands. Default none: any token with crit is refused.
	Critical []string
	// Revocation, when set, is consulted on every request (cache hits
	// included) and makes jti required. An error from it answers 503.
	// Default none.
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
	// never to the client). They must not modify the claims. Default none.
	Validators []func(*Claims) error
	// Now is the clock. Default time.Now.
	Now func() time.Time

	// Realm is the RFC 6750 realm of WWW-Authenticate. Default
	// DefaultRealm ("api"). It must be printable ASCII without '"' or '\'.
	Realm string
	// Optional lets requests without any bearer credentials through
	// unauthenticated (no claims in the context). Credentials that are
	// present but bad are still refused. Default false.
	Optional bool
	// QueryParam, when set (RFC 6750 §2.3 uses "access_token"), also reads a
	// token from that query parameter. Default off: tokens in URLs end up in
	// logs and Referer headers. Whether set or not, a request with a token
	// in the query (QueryParam or access_token) and another elsewhere is
	// refused with 400 invalid_request: one method per request (RFC 6750 §2).
	QueryParam string
	// Cookie, when set, also reads a token from the cookie of that name.
	// Default off. Cookies are sent by browsers on cross-site requests, so
	// CSRFOrigins or CSRFHeader is then required.
	Cookie string
	// CSRFOrigins are the origins (scheme://host[:port]) whose unsafe
	// requests (not GET, HEAD or OPTIONS) may authenticate with the cookie.
	// Default none.
	CSRFOrigins []string
	// CSRFHeader, when set (for example "X-Requested-With"), lets an unsafe
	// request authenticate with the cookie when it carries that header, which
	// a cross-site form cannot send. Default none.
	CSRFHeader string
	// ErrorWriter writes refusals. Default WriteError.
	ErrorWriter ErrorWriter
	// Failures, when set, is told of every refusal caused by the client's
	// credentials: not of requests without any, nor of 503s. Set it to a
	// *ratelimit.Guard to count invalid tokens towards its lockout. Default
	// none.
	Failures FailureCounter
	// Audit records auditlog.TokenRejected for every refusal of presented
	// credentials, and auditlog.SecurityThreat as well when Reason.Threat();
	// with JWKSURL it also receives the remote set's fetch failures. Default:
	// nothing recorded.
	Audit *auditlog.Logger
}

var knownAlgs = [...]string{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA, jose.HS256, jose.HS384, jose.HS512, jose.Ed25519,
}

// asymmetricAlgs is the default allowlist of a key source that does not
// list its keys.
var asymmetricAlgs = knownAlgs[:10]

// MustNew is New for literal configuration: it panics on an error.
func MustNew(cfg Config) *Authenticator {
	a, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return a
}

// New validates cfg and returns an Authenticator. Every bad field is an
// error naming it ("apiguard: Config.Issuer is empty"). With JWKSURL, New
// fetches the set once (a failed fetch is not an error: tokens are answered
// 503 until a fetch succeeds); call Close when done with the Authenticator.
func New(cfg Config) (*Authenticator, error) {
	a := &Authenticator{
		issuer:     cfg.Issuer,
		audience:   cfg.Audience,
		leeway:     cfg.Leeway,
		maxAge:     cfg.MaxAge,
		anyTyp:     cfg.AllowAnyTyp,
		revocation: cfg.Revocation,
		maxSize:    cfg.MaxTokenSize,
		now:        cfg.Now,
		realm:      cfg.Realm,
		optional:   cfg.Optional,
		queryParam: cfg.QueryParam,
		cookie:     cfg.Cookie,
		writeError: cfg.ErrorWriter,
		failures:   cfg.Failures,
		audit:      cfg.Audit,
	}
	if err := a.checkConfig(&cfg); err != nil {
		return nil, err
	}
	if err := a.setKeys(&cfg); err != nil {
		return nil, err
	}
	return a, nil
}

// checkConfig validates and defaults everything of cfg but the key source
// and the algorithms.
func (a *Authenticator) checkConfig(cfg *Config) error {
	if cfg.Issuer == "" {
		return errors.New("apiguard: Config.Issuer is empty")
	}
	if cfg.Audience == "" {
		return errors.New("apiguard: Config.Audience is empty")
	}
	switch {
	case cfg.Leeway < 0:
		return fmt.Errorf("apiguard: Config.Leeway is negative (%v)", cfg.Leeway)
	case cfg.Leeway == 0:
		a.leeway = DefaultLeeway
	}
	if cfg.MaxAge < 0 {
		return fmt.Errorf("apiguard: Config.MaxAge is negative (%v)", cfg.MaxAge)
	}
	for _, c := range cfg.Critical {
		if c == "" || c == "b64" {
			return fmt.Errorf("apiguard: Config.Critical contains %q, which the gate cannot honour", c)
		}
		a.critical = append(a.critical, c)
	}
	switch {
	case cfg.MaxTokenSize < 0:
		return fmt.Errorf("apiguard: Config.MaxTokenSize is negative (%d)", cfg.MaxTokenSize)
	case cfg.MaxTokenSize == 0:
		a.maxSize = DefaultMaxTokenSize
	case cfg.MaxTokenSize > strictjson.MaxSize:
		return fmt.Errorf("apiguard: Config.MaxTokenSize %d is above %d", cfg.MaxTokenSize, strictjson.MaxSize)
	}
	if cfg.CacheTTL < 0 {
		return fmt.Errorf("apiguard: Config.CacheTTL is negative (%v)", cfg.CacheTTL)
	}
	if cfg.CacheSize >= 0 {
		size, ttl := cfg.CacheSize, cfg.CacheTTL
		if size == 0 {
			size = DefaultCacheSize
		}
		if ttl == 0 {
			ttl = DefaultCacheTTL
		}
		a.cache = newCache(size, ttl)
	}
	for i, v := range cfg.Validators {
		if v == nil {
			return fmt.Errorf("apiguard: Config.Validators[%d] is nil", i)
		}
	}
	a.validators = append([]func(*Claims) error(nil), cfg.Validators...)
	if a.now == nil {
		a.now = time.Now
	}
	if a.realm == "" {
		a.realm = DefaultRealm
	}
	if !quotedStringSafe(a.realm) {
		return fmt.Errorf("apiguard: Config.Realm %q must be printable ASCII without '\"' or '\\'", a.realm)
	}
	if a.cookie != "" {
		if !isToken(a.cookie) {
			return fmt.Errorf("apiguard: Config.Cookie %q is not a valid cookie name", a.cookie)
		}
		if len(cfg.CSRFOrigins) == 0 && cfg.CSRFHeader == "" {
			return fmt.Errorf("apiguard: Config.Cookie %q is set but neither CSRFOrigins nor CSRFHeader is: cookie tokens need a CSRF defence", a.cookie)
		}
	}
	for _, o := range cfg.CSRFOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || o != u.Scheme+"://"+u.Host {
			return fmt.Errorf("apiguard: Config.CSRFOrigins contains %q, not an origin (scheme://host[:port])", o)
		}
		a.csrfOrigins = append(a.csrfOrigins, o)
	}
	if cfg.CSRFHeader != "" {
		if !isToken(cfg.CSRFHeader) {
			return fmt.Errorf("apiguard: Config.CSRFHeader %q is not a header name", cfg.CSRFHeader)
		}
		a.csrfHeader = textproto.CanonicalMIMEHeaderKey(cfg.CSRFHeader)
		switch a.csrfHeader {
		case "Origin", "Cookie", "Authorization", "Content-Type", "Accept", "Referer", "User-Agent":
			return fmt.Errorf("apiguard: Config.CSRFHeader %q is sent by browsers on cross-site requests", cfg.CSRFHeader)
		}
	}
	if a.queryParam != "" && a.queryParam != url.QueryEscape(a.queryParam) {
		return fmt.Errorf("apiguard: Config.QueryParam %q needs escaping", a.queryParam)
	}
	if a.writeError == nil {
		a.writeError = WriteError
	}
	return nil
}

// setKeys builds the key source from the one of Keys, JWKS, JWKSURL and PEM
// that is set, then the algorithm allowlist. It runs last, so that a bad
// field elsewhere never starts a remote client.
func (a *Authenticator) setKeys(cfg *Config) error {
	var set []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"Keys", cfg.Keys != nil}, {"JWKS", cfg.JWKS != nil}, {"JWKSURL", cfg.JWKSURL != ""}, {"PEM", cfg.PEM != nil},
	} {
		if f.set {
			set = append(set, "Config."+f.name)
		}
	}
	switch len(set) {
	case 0:
		return errors.New("apiguard: no key source: set one of Config.Keys, Config.JWKS, Config.JWKSURL or Config.PEM")
	case 1:
	default:
		return fmt.Errorf("apiguard: %s are all set: set exactly one key source", strings.Join(set, ", "))
	}
	// listed holds the source's keys when they are known now (unlisted is
	// false), so that the default allowlist can be their algorithms.
	var listed []*jose.Key
	unlisted := false
	switch {
	case cfg.Keys != nil:
		a.keys = cfg.Keys
		s, ok := cfg.Keys.(*jose.StaticKeys)
		switch {
		case ok && s == nil:
			return errors.New("apiguard: Config.Keys is a nil *jose.StaticKeys")
		case ok:
			listed = s.Keys()
		default:
			unlisted = true
		}
	case cfg.JWKSURL != "":
		unlisted = true
	case cfg.JWKS != nil:
		keys, err := jose.ParseJWKS(cfg.JWKS)
		if err != nil {
			return fmt.Errorf("apiguard: Config.JWKS: %w", err)
		}
		if a.keys, err = jose.NewStaticKeys(keys...); err != nil {
			return fmt.Errorf("apiguard: Config.JWKS: %w", err)
		}
		listed = keys
	case cfg.PEM != nil:
		keys, err := jose.ParsePEM(cfg.PEM, "")
		if err != nil {
			return fmt.Errorf("apiguard: Config.PEM: %w", err)
		}
		if a.keys, err = jose.NewStaticKeys(keys...); err != nil {
			return fmt.Errorf("apiguard: Config.PEM: %w", err)
		}
		listed = keys
	}
	if err := a.setAlgorithms(cfg.Algorithms, listed, unlisted); err != nil {
		return err
	}
	if cfg.JWKSURL != "" {
		// Last: nothing after it can fail, so the client never leaks.
		r, err := jose.NewRemoteJWKS(context.Background(), jose.RemoteJWKSConfig{URL: cfg.JWKSURL, Audit: cfg.Audit, Algorithms: cfg.Algorithms})
		if err != nil {
			return fmt.Errorf("apiguard: Config.JWKSURL %q: %w", redactURL(cfg.JWKSURL), err)
		}
		a.keys, a.remote = r, r
	}
	return nil
}

// setAlgorithms checks the configured allowlist, or takes the default: the
// algorithms of listed, or the asymmetric ones for a source that does not
// list its keys (unlisted).
func (a *Authenticator) setAlgorithms(algs []string, listed []*jose.Key, unlisted bool) error {
	if len(algs) == 0 {
		if unlisted {
			a.algs = append([]string(nil), asymmetricAlgs...)
			return nil
		}
		// The keys' algorithms, in a fixed order (a StaticKeys lists its
		// keys in map order).
		for _, alg := range knownAlgs {
			for _, k := range listed {
				if k.Alg() == alg {
					algs = append(algs, alg)
					break
				}
			}
		}
		if len(algs) == 0 {
			return errors.New("apiguard: Config.Algorithms is empty and Config.Keys holds no key to take them from")
		}
	}
	for _, alg := range algs {
		if strings.EqualFold(strings.TrimSpace(alg), "none") {
			return fmt.Errorf("apiguard: Config.Algorithms contains %q: unsigned tokens are never accepted", alg)
		}
		known := false
		for _, k := range knownAlgs {
			known = known || alg == k
		}
		if !known {
			return fmt.Errorf("apiguard: Config.Algorithms contains unknown algorithm %q", alg)
		}
		dup := false
		for _, have := range a.algs {
			dup = dup || have == alg
		}
		if !dup {
			a.algs = append(a.algs, alg)
		}
	}
	return nil
}

// redactURL returns raw without its userinfo and query, which may carry
// credentials, for an error message.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// isToken reports whether s is an RFC 7230 token (cookie and header names
// are tokens).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f {
			return false
		}
		switch c {
		case '(', ')', '<', '>', '@', ',', ';', ':', '\\', '"', '/', '[', ']', '?', '=', '{', '}':
			return false
		}
	}
	return true
}
