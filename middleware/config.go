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
	"github.com/apiguard/apiguard/middleware/dpop"
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

// Config configures an Authenticator. One issuer is configured with the
// shorthand at the top (Issuer, Audience, exactly one key source among Keys,
// JWKS, JWKSURL, PEM and Discovery, and optionally Profile and Algorithms);
// several with Issuers and/or IssuerResolver, and then none of the
// shorthand fields may be set. Every other zero field means its documented
// default.
type Config struct {
	// Keys resolves the verification key from the header's kid and alg: a
	// *jose.StaticKeys, a *jose.RemoteJWKS, a *token.Issuer, a
	// jose.MultiKeySource of several... Exactly one of Keys, JWKS, JWKSURL,
	// PEM and Discovery must be set.
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
	// Discovery finds the keys from Issuer alone: Issuer's OpenID Connect
	// Discovery document (or, when that answers 404, its RFC 8414 metadata),
	// whose issuer must equal Issuer, gives the jwks_uri, which becomes a
	// remote JWK Set (jose.NewDiscoveredJWKS). Issuer must be https, or http
	// on a loopback host. New does not wait for the network: until the keys
	// arrive (the provider down at start, or later with no key held) tokens
	// are answered 503 with Retry-After, never 401. The document is asked
	// for again every minute (answered from its cache while fresh), and a new
	// jwks_uri replaces the key set. Call Close to stop it.
	Discovery bool
	// Profile says what the issuer's access tokens look like (accepted typ,
	// audience claim, where roles and scopes are, size cap): one of the
	// ready-made ProfileAuth0(), ProfileEntraID(), ProfileOkta(),
	// ProfileKeycloak(client), ProfileCognito(), ProfileGoogle(), or your
	// own. Default nil: ProfileRFC9068().
	Profile *Profile

	// Issuers lists the trusted issuers, each with its own keys, audiences,
	// profile and algorithms. A token is verified only with the keys of the
	// issuer its iss names (read, strictly, before any key lookup); an iss
	// that is none of them (nor resolved by IssuerResolver) is refused with
	// 401 iss_unknown, without any key lookup or network request. Default
	// none.
	Issuers []TrustedIssuer
	// IssuerResolver, when set, is asked about an iss that is not in
	// Issuers: it returns the TrustedIssuer (whose Issuer must equal iss),
	// nil for an issuer not trusted, or an error (answered 503, not cached).
	// Answers are cached, trusted or not, in an LRU of ResolverCacheSize
	// entries, and calls are limited to ResolverRate per second for all
	// issuers together, so that tokens naming made-up issuers cost at most
	// that many calls: past it they are refused as unknown without a call.
	// An iss longer than MaxIssuerLength is never resolved. It runs on the
	// request path and must be quick: decide from the iss (a tenant-id
	// pattern, a table) and return a TrustedIssuer with Discovery, which
	// fetches nothing before its first token. Default none.
	IssuerResolver func(ctx context.Context, iss string) (*TrustedIssuer, error)
	// ResolverCacheSize caps the resolver's cache. Zero means
	// DefaultResolverCacheSize (1,000).
	ResolverCacheSize int
	// ResolverRate is the most resolver calls per second (and their burst).
	// Zero means DefaultResolverRate (10).
	ResolverRate int

	// Algorithms is the allowlist of header algs, for example
	// []string{jose.RS256}. "none" in any case is a configuration error.
	// Default: taken from the keys. For JWKS, PEM, and a Keys that lists its
	// keys (*jose.StaticKeys), the algorithm of each key; for JWKSURL and
	// any other Keys (a remote set, an issuer, several sources), the
	// asymmetric algorithms RS*, PS*, ES* and EdDSA: each key is bound to
	// its one algorithm and the header's alg must equal it, so the list only
	// keeps HMAC out. Set it to accept HS* from such a source.
	Algorithms []string
	// Issuer is the exact iss required. Required with the shorthand.
	Issuer string
	// Audience must be the aud string or one of the aud array (or, where
	// the profile says so, the profile's audience claim). Required with the
	// shorthand.
	Audience string
	// Leeway is the clock skew allowed on exp, nbf and iat. Zero means
	// DefaultLeeway (30 s); use time.Nanosecond for practically none.
	Leeway time.Duration
	// MaxAge, when positive, requires iat and refuses tokens issued more than
	// MaxAge ago, whatever exp says. Default zero: no limit.
	MaxAge time.Duration
	// AllowAnyTyp turns off the typ check of every issuer's profile. By
	// default (false) the header's typ must be one the profile accepts: for
	// ProfileRFC9068, "at+jwt" or "application/at+jwt" (any case).
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
	// anything else, for every issuer. Zero means each issuer's profile's
	// cap (DefaultMaxTokenSize, 8 KiB, unless the profile says more, as
	// ProfileEntraID does): the largest of them is checked first, then, once
	// iss is read, the issuer's own. A resolved issuer's tokens are bounded
	// by that first check too: with IssuerResolver for Entra tenants, set
	// MaxTokenSize to DefaultEntraMaxTokenSize.
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
	// DPoP, when set, accepts DPoP-bound access tokens (RFC 9449 §7):
	// Authorization: DPoP <token> with exactly one DPoP proof, which this
	// verifier checks on every request (proofs are never cached; the
	// token's own checks still use the validation cache) and whose key's
	// thumbprint must be the token's cnf.jkt. A token with cnf.jkt presented
	// as Bearer is refused, with DPoP set or not; so is a Bearer request
	// with a DPoP header. 401s then carry a DPoP challenge (algs="...")
	// beside the Bearer one, and a valid response carries DPoP-Nonce when
	// the verifier's nonce rotated. Default nil: DPoP disabled (the DPoP
	// scheme is not read).
	DPoP *dpop.Verifier
	// DPoPRequired refuses tokens that are not DPoP-bound on every route,
	// and leaves the Bearer challenge out. It needs DPoP. Default false:
	// once DPoP is set both are accepted; RequireDPoP requires DPoP on
	// some routes only.
	DPoPRequired bool
	// MTLS, when set, also reads the client certificate of
	// certificate-bound tokens (RFC 8705 §3) from a header set by trusted
	// proxies (see MTLSConfig), and advertises support for them in the
	// metadata. Without it a token with cnf["x5t#S256"] is still checked,
	// against the request's own TLS client certificate. Default nil.
	MTLS *MTLSConfig
	// Resource is the resource identifier of the API (RFC 9728 §1.2): an
	// https URL (http on a loopback host) without query or fragment, such
	// as "https://api.example/orders". When set, MetadataHandler serves the
	// protected-resource metadata, and every 401 challenge and 403
	// insufficient_scope names it in resource_metadata="...". Default none.
	Resource string
	// ResourceMetadata is the rest of the metadata document (authorization
	// servers, scopes...). It needs Resource. Default nil: only what the
	// Authenticator knows.
	ResourceMetadata *ResourceMetadata

	// Audit records auditlog.TokenRejected for every refusal of presented
	// credentials, and auditlog.SecurityThreat as well when Reason.Threat();
	// with JWKSURL or Discovery it also receives the remote set's fetch
	// failures, and with Discovery failed discoveries
	// (jose.AuditDiscoveryFailed). Default:
	// nothing recorded.
	Audit *auditlog.Logger
	// Observer, when set, is told of every decision on a presented token
	// (TokenChecked: alg, kid, issuer, cache hit, reason; never the token)
	// and, with JWKSURL or Discovery, of every fetch. Package auditlog/otel
	// provides an OpenTelemetry one. Default none: nothing is observed.
	Observer auditlog.Observer
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
// 503 until a fetch succeeds); with Discovery it fetches nothing and returns
// at once. Call Close when done with the Authenticator.
func New(cfg Config) (*Authenticator, error) {
	a := &Authenticator{
		leeway:     cfg.Leeway,
		maxAge:     cfg.MaxAge,
		revocation: cfg.Revocation,
		now:        cfg.Now,
		realm:      cfg.Realm,
		optional:   cfg.Optional,
		queryParam: cfg.QueryParam,
		cookie:     cfg.Cookie,
		writeError: cfg.ErrorWriter,
		failures:   cfg.Failures,
		audit:      cfg.Audit,
		observer:   cfg.Observer,
	}
	if err := a.checkConfig(&cfg); err != nil {
		return nil, err
	}
	if err := a.setBinding(&cfg); err != nil {
		return nil, err
	}
	if err := a.setResource(&cfg); err != nil {
		return nil, err
	}
	if err := a.setIssuers(&cfg); err != nil {
		return nil, err
	}
	return a, nil
}

// checkConfig validates and defaults everything of cfg but the key source
// and the algorithms.
func (a *Authenticator) checkConfig(cfg *Config) error {
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

// algorithms checks the configured allowlist, or takes the default: the
// algorithms of listed, or the asymmetric ones for a source that does not
// list its keys (unlisted). field names the configuration in errors.
func algorithms(algs []string, listed []*jose.Key, unlisted bool, field string) ([]string, error) {
	if len(algs) == 0 {
		if unlisted {
			return append([]string(nil), asymmetricAlgs...), nil
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
			return nil, fmt.Errorf("apiguard: %[1]s.Algorithms is empty and %[1]s.Keys holds no key to take them from", field)
		}
	}
	var out []string
	for _, alg := range algs {
		if strings.EqualFold(strings.TrimSpace(alg), "none") {
			return nil, fmt.Errorf("apiguard: %s.Algorithms contains %q: unsigned tokens are never accepted", field, alg)
		}
		known := false
		for _, k := range knownAlgs {
			known = known || alg == k
		}
		if !known {
			return nil, fmt.Errorf("apiguard: %s.Algorithms contains unknown algorithm %q", field, alg)
		}
		dup := false
		for _, have := range out {
			dup = dup || have == alg
		}
		if !dup {
			out = append(out, alg)
		}
	}
	return out, nil
}

// setIssuers builds the trusted issuers: the one of the shorthand (Issuer,
// Audience and a key source at the top of Config), or Config.Issuers and
// Config.IssuerResolver; then the size ceiling. It runs last, so that a bad
// field elsewhere never starts a remote client.
func (a *Authenticator) setIssuers(cfg *Config) error {
	env := issuerEnv{anyTyp: cfg.AllowAnyTyp, maxSize: cfg.MaxTokenSize, audit: cfg.Audit, observer: cfg.Observer, now: a.now}
	multi := len(cfg.Issuers) > 0 || cfg.IssuerResolver != nil
	if !multi {
		if cfg.ResolverCacheSize != 0 || cfg.ResolverRate != 0 {
			return errors.New("apiguard: Config.ResolverCacheSize and Config.ResolverRate need Config.IssuerResolver")
		}
		t, err := buildIssuer(&TrustedIssuer{
			Issuer: cfg.Issuer, Audience: cfg.Audience,
			Keys: cfg.Keys, JWKS: cfg.JWKS, JWKSURL: cfg.JWKSURL, PEM: cfg.PEM, Discovery: cfg.Discovery,
			Profile: cfg.Profile, Algorithms: cfg.Algorithms,
		}, "Config", env)
		if err != nil {
			return err
		}
		a.one = t
		a.maxSize = t.maxSize
		return nil
	}
	var short []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"Issuer", cfg.Issuer != ""}, {"Audience", cfg.Audience != ""}, {"Keys", cfg.Keys != nil}, {"JWKS", cfg.JWKS != nil},
		{"JWKSURL", cfg.JWKSURL != ""}, {"PEM", cfg.PEM != nil}, {"Discovery", cfg.Discovery}, {"Profile", cfg.Profile != nil},
		{"Algorithms", len(cfg.Algorithms) > 0},
	} {
		if f.set {
			short = append(short, "Config."+f.name)
		}
	}
	if len(short) > 0 {
		return fmt.Errorf("apiguard: %s set beside Config.Issuers or Config.IssuerResolver: use one style (set them in each TrustedIssuer)", strings.Join(short, ", "))
	}
	switch {
	case cfg.ResolverCacheSize < 0:
		return fmt.Errorf("apiguard: Config.ResolverCacheSize is negative (%d)", cfg.ResolverCacheSize)
	case cfg.ResolverRate < 0:
		return fmt.Errorf("apiguard: Config.ResolverRate is negative (%d)", cfg.ResolverRate)
	case cfg.IssuerResolver == nil && (cfg.ResolverCacheSize != 0 || cfg.ResolverRate != 0):
		return errors.New("apiguard: Config.ResolverCacheSize and Config.ResolverRate need Config.IssuerResolver")
	}
	a.issuers = make(map[string]*trusted, len(cfg.Issuers))
	a.maxSize = cfg.MaxTokenSize
	for i := range cfg.Issuers {
		field := fmt.Sprintf("Config.Issuers[%d]", i)
		if _, dup := a.issuers[cfg.Issuers[i].Issuer]; dup {
			a.closeIssuers()
			return fmt.Errorf("apiguard: %s.Issuer %q is already configured", field, cfg.Issuers[i].Issuer)
		}
		t, err := buildIssuer(&cfg.Issuers[i], field, env)
		if err != nil {
			a.closeIssuers()
			return err
		}
		a.issuers[t.name] = t
		if cfg.MaxTokenSize == 0 && t.maxSize > a.maxSize {
			a.maxSize = t.maxSize
		}
	}
	if a.maxSize == 0 {
		a.maxSize = DefaultMaxTokenSize
	}
	if cfg.IssuerResolver != nil {
		size, rate := cfg.ResolverCacheSize, cfg.ResolverRate
		if size == 0 {
			size = DefaultResolverCacheSize
		}
		if rate == 0 {
			rate = DefaultResolverRate
		}
		a.resolver = newResolver(cfg.IssuerResolver, size, rate, env)
	}
	return nil
}

// closeIssuers stops the remote clients of every issuer built so far.
func (a *Authenticator) closeIssuers() error {
	var err error
	if a.one != nil {
		err = a.one.close()
	}
	for _, t := range a.issuers {
		err = errors.Join(err, t.close())
	}
	if a.resolver != nil {
		err = errors.Join(err, a.resolver.close())
	}
	return err
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
