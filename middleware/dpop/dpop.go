package dpop

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/apiguard/apiguard/internal/clientip"
	"github.com/apiguard/apiguard/internal/compact"
	"github.com/apiguard/apiguard/internal/strictjson"
	"github.com/apiguard/apiguard/middleware/jose"
)

// Defaults of Config.
const (
	DefaultMaxAge       = 60 * time.Second
	DefaultLeeway       = 30 * time.Second
	DefaultNonceStep    = 5 * time.Minute
	DefaultMaxProofSize = 8 << 10
)

// MaxJTILength is the longest jti accepted, in bytes.
const MaxJTILength = 256

// MinNonceSecret is the shortest Config.NonceSecret accepted, in bytes.
const MinNonceSecret = 32

// asymmetric are the algorithms a proof may use, the default allowlist.
var asymmetric = []string{
	jose.ES256, jose.ES384, jose.ES512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.RS256, jose.RS384, jose.RS512,
	jose.EdDSA, jose.Ed25519,
}

// Config configures a Verifier. Its zero value verifies proofs with every
// asymmetric algorithm, the default window, an in-memory replay cache, no
// server nonce, and the request's own scheme and host.
type Config struct {
	// Algorithms is the allowlist of proof algorithms. Default: ES256,
	// ES384, ES512, PS256, PS384, PS512, RS256, RS384, RS512, EdDSA and
	// Ed25519. HS*, "none" or an unknown name is an error: a proof is
	// signed with the client's private key.
	Algorithms []string
	// MaxAge is how long after its iat a proof is accepted. Default
	// DefaultMaxAge (60 s).
	MaxAge time.Duration
	// Leeway is how far in the future an iat may be (clock skew). Default
	// DefaultLeeway (30 s).
	Leeway time.Duration
	// Replay remembers used proofs; each (jkt, jti) is accepted once,
	// until iat + MaxAge + Leeway. Default NewMemoryReplayCache(0), with
	// Now as its clock; several instances share one (middleware/redisstore).
	Replay ReplayCache
	// NonceSecret, when set (at least MinNonceSecret bytes), makes a server
	// nonce required (RFC 9449 §8, §9): a keyed MAC of a time step, so that
	// instances with the same secret agree without sharing state. Default
	// none: nonces are off and a proof's nonce is ignored.
	NonceSecret []byte
	// NonceStep is how often the nonce rotates; a nonce is accepted for one
	// to two steps. Default DefaultNonceStep (5 min); at least a second.
	NonceStep time.Duration
	// PublicURL is the scheme://host[:port][/prefix] clients use to reach
	// this server. When set it replaces the request's scheme and host (and
	// any forwarded ones) for the htu check, and its path, if any, is put
	// before the request's path (a proxy that strips it). Default: the
	// request's own, or a trusted proxy's.
	PublicURL string
	// TrustedProxies are the CIDRs (or addresses) of the proxies whose
	// X-Forwarded-Proto and X-Forwarded-Host (or RFC 7239 Forwarded proto=
	// and host=) give the scheme and host the client used. From any other
	// peer those headers are ignored. Default none.
	TrustedProxies []string
	// MaxProofSize caps the DPoP header, in bytes. Default
	// DefaultMaxProofSize (8 KiB, enough for an RSA-8192 proof).
	MaxProofSize int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Verifier checks DPoP proofs (RFC 9449 §4.3). It is immutable and safe for
// concurrent use.
type Verifier struct {
	algs         []string
	maxAge       time.Duration
	leeway       time.Duration
	replay       ReplayCache
	nonces       *nonces // nil: off
	scheme, host string  // from PublicURL; "" when unset
	prefix       string  // PublicURL's path, without a trailing slash
	proxies      *clientip.Resolver
	maxSize      int
	now          func() time.Time
}

// b64 is the strict decoder of the compact form.
var b64 = base64.RawURLEncoding.Strict()

// New validates cfg and returns a Verifier. Errors name the field and value.
func New(cfg Config) (*Verifier, error) {
	v := &Verifier{maxAge: cfg.MaxAge, leeway: cfg.Leeway, replay: cfg.Replay, maxSize: cfg.MaxProofSize, now: cfg.Now}
	if v.now == nil {
		v.now = time.Now
	}
	if len(cfg.Algorithms) == 0 {
		v.algs = append([]string(nil), asymmetric...)
	}
	for _, a := range cfg.Algorithms {
		if !slices.Contains(asymmetric, a) {
			return nil, fmt.Errorf("dpop: Algorithms contains %q, which is not an asymmetric signature algorithm (want one of %s)", a, strings.Join(asymmetric, ", "))
		}
		if !slices.Contains(v.algs, a) {
			v.algs = append(v.algs, a)
		}
	}
	switch {
	case v.maxAge < 0:
		return nil, fmt.Errorf("dpop: MaxAge %v is negative", cfg.MaxAge)
	case v.maxAge == 0:
		v.maxAge = DefaultMaxAge
	}
	switch {
	case v.leeway < 0:
		return nil, fmt.Errorf("dpop: Leeway %v is negative", cfg.Leeway)
	case v.leeway == 0:
		v.leeway = DefaultLeeway
	}
	switch {
	case v.maxSize < 0:
		return nil, fmt.Errorf("dpop: MaxProofSize %d is negative", cfg.MaxProofSize)
	case v.maxSize == 0:
		v.maxSize = DefaultMaxProofSize
	}
	if v.replay == nil {
		c := NewMemoryReplayCache(0)
		c.Now = v.now
		v.replay = c
	}
	if len(cfg.NonceSecret) > 0 {
		if len(cfg.NonceSecret) < MinNonceSecret {
			return nil, fmt.Errorf("dpop: NonceSecret of %d bytes is too short (minimum %d)", len(cfg.NonceSecret), MinNonceSecret)
		}
		step := cfg.NonceStep
		switch {
		case step == 0:
			step = DefaultNonceStep
		case step < time.Second:
			return nil, fmt.Errorf("dpop: NonceStep %v is under a second", cfg.NonceStep)
		}
		v.nonces = newNonces(cfg.NonceSecret, step)
	} else if cfg.NonceStep != 0 {
		return nil, fmt.Errorf("dpop: NonceStep %v is set without NonceSecret", cfg.NonceStep)
	}
	if cfg.PublicURL != "" {
		scheme, host, path, ok := normalizeHTU(cfg.PublicURL)
		if !ok || strings.ContainsAny(cfg.PublicURL, "?#") {
			return nil, fmt.Errorf("dpop: PublicURL %q is not an absolute http or https URL without userinfo, query or fragment", cfg.PublicURL)
		}
		v.scheme, v.host, v.prefix = scheme, host, strings.TrimSuffix(path, "/")
	}
	var err error
	if v.proxies, err = clientip.New(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("dpop: TrustedProxies: %w", err)
	}
	return v, nil
}

// Algorithms returns the allowed proof algorithms, for a WWW-Authenticate:
// DPoP algs="..." challenge (RFC 9449 §7.1) or the dpop_signing_alg_values
// of metadata. The slice is the caller's.
func (v *Verifier) Algorithms() []string { return append([]string(nil), v.algs...) }

// Nonce returns the current server nonce, "" when nonces are off: what a
// token endpoint or resource server sends in DPoP-Nonce.
func (v *Verifier) Nonce() string {
	if v.nonces == nil {
		return ""
	}
	return v.nonces.at(v.now()).cur
}

// Proof is a verified DPoP proof.
type Proof struct {
	JKT       string    // RFC 7638 thumbprint (SHA-256, base64url) of the proof's key: compare with cnf.jkt
	JTI       string    // the proof's jti, as sent (untrusted text: escape it to log it)
	Alg       string    // the proof's alg, one of Config.Algorithms
	IssuedAt  time.Time // the proof's iat
	NextNonce string    // non-empty when the response should carry DPoP-Nonce (the nonce rotated)
}

// Verify checks r's DPoP proof, in this order, stopping at the first
// failure with an *Error (each check has its Reason* code):
//
//  1. exactly one DPoP header, at most MaxProofSize bytes;
//  2. the strict compact-JWS parse of access tokens (internal/compact:
//     canonical base64url) and a strict JSON header (strictjson: UTF-8, no
//     duplicate member);
//  3. typ "dpop+jwt" (RFC 7515 §4.1.9: compared case-insensitively, and
//     "application/dpop+jwt" is the same media type); alg in the allowlist;
//     no crit (no extension is understood), no jku, x5u or x5c (the key is
//     the jwk, never fetched), no cty; a kid is ignored;
//  4. a jwk that is a public key fitting alg (jose.ParseHeaderJWK: any
//     private member refuses it), and the signature by that key;
//  5. strict JSON claims: jti present, at most MaxJTILength bytes; htm equal
//     to r.Method (case-sensitive, as methods are); htu equal to r's URI
//     without query and fragment, normalised (see htu.go; the scheme and
//     host are PublicURL's, else a trusted proxy's, else the request's);
//     iat within [now-MaxAge, now+Leeway];
//  6. ath: required when accessToken != "", and then equal to
//     base64url(SHA-256(accessToken)), compared in constant time; refused
//     when accessToken == "" (a proof that names a token belongs with it);
//  7. nonce, when NonceSecret is set: missing, stale or not ours gives
//     CodeUseNonce with Error.Nonce; the previous step's is accepted with
//     Proof.NextNonce;
//  8. last, so that only proofs valid in every other way are recorded:
//     Replay.Use(jkt, jti, iat+MaxAge+Leeway); ErrReplay refuses it (401),
//     any other error answers 503.
//
// At a token endpoint (RFC 9449 §5) call it with accessToken "", and answer
// a refusal with 400 and Error.Code; a resource server answers 401 with a
// WWW-Authenticate: DPoP challenge (§7.1). Binding the token to the key
// (cnf.jkt == Proof.JKT) is the caller's check.
func (v *Verifier) Verify(r *http.Request, accessToken string) (*Proof, error) {
	p, e := v.verify(r, accessToken)
	if e != nil {
		return nil, e
	}
	return p, nil
}

func (v *Verifier) verify(r *http.Request, accessToken string) (*Proof, *Error) {
	vals := r.Header["Dpop"]
	switch {
	case len(vals) == 0:
		return nil, fail(ReasonProofMissing, nil)
	case len(vals) > 1:
		return nil, fail(ReasonProofMultiple, nil)
	case len(vals[0]) > v.maxSize:
		return nil, fail(ReasonProofTooLarge, nil)
	}
	parts, fault := compact.Parse(vals[0], v.maxSize, b64)
	if fault != compact.OK {
		return nil, fail(ReasonMalformed, nil)
	}

	// Header.
	var h strictjson.Header
	if err := strictjson.ParseHeader(parts.Header, &h); err != nil {
		return nil, fail(ReasonHeaderInvalid, err)
	}
	switch {
	case !isDPoPType(h.Typ):
		return nil, fail(ReasonTypInvalid, nil)
	case !slices.Contains(v.algs, h.Alg):
		return nil, fail(ReasonAlgNotAllowed, nil)
	case h.HasCrit:
		return nil, fail(ReasonCritUnsupported, nil)
	case h.HasJKU || h.HasX5U || h.HasX5C:
		return nil, fail(ReasonKeyReference, nil)
	case h.Cty != "":
		return nil, fail(ReasonHeaderInvalid, errors.New("cty present"))
	case !h.HasJWK:
		return nil, fail(ReasonJWKMissing, nil)
	}

	// Key and signature.
	key, err := jose.ParseHeaderJWK(h.JWK, h.Alg)
	if err != nil {
		var je *jose.JWKError
		if errors.As(err, &je) && je.Reason == jose.SkipPrivateMember {
			return nil, fail(ReasonJWKPrivate, err)
		}
		return nil, fail(ReasonJWKInvalid, err)
	}
	if err := key.Verify(parts.SigningInput, parts.Sig); err != nil {
		return nil, fail(ReasonBadSignature, err)
	}

	// Claims.
	var c strictjson.ProofClaims
	if err := strictjson.ParseProofClaims(parts.Payload, &c); err != nil {
		return nil, fail(ReasonClaimsInvalid, err)
	}
	switch {
	case c.Jti == "":
		return nil, fail(ReasonJTIMissing, nil)
	case len(c.Jti) > MaxJTILength:
		return nil, fail(ReasonJTITooLong, nil)
	case c.Htm == "":
		return nil, fail(ReasonHTMMissing, nil)
	case c.Htm != r.Method:
		return nil, fail(ReasonHTMMismatch, nil)
	case c.Htu == "":
		return nil, fail(ReasonHTUMissing, nil)
	}
	if reason := v.checkHTU(r, c.Htu); reason != "" {
		return nil, fail(reason, nil)
	}
	if !c.Iat.Set {
		return nil, fail(ReasonIATMissing, nil)
	}
	now := v.now()
	iat := time.Unix(c.Iat.Sec, c.Iat.Nsec)
	switch {
	case iat.After(now.Add(v.leeway)):
		return nil, fail(ReasonIATInFuture, nil)
	case now.Sub(iat) > v.maxAge:
		return nil, fail(ReasonIATTooOld, nil)
	}
	switch {
	case accessToken == "" && c.HasAth:
		return nil, fail(ReasonATHUnexpected, nil)
	case accessToken == "":
	case !c.HasAth:
		return nil, fail(ReasonATHMissing, nil)
	case !athMatches(c.Ath, accessToken):
		return nil, fail(ReasonATHMismatch, nil)
	}
	next := ""
	if v.nonces != nil {
		var reason string
		if next, reason = v.nonces.check(c.Nonce, c.HasNonce, now); reason != "" {
			e := fail(reason, nil)
			e.Nonce = v.nonces.at(now).cur
			return nil, e
		}
	}

	// Replay, last.
	if err := v.replay.Use(r.Context(), key.ID(), c.Jti, iat.Add(v.maxAge+v.leeway)); err != nil {
		if errors.Is(err, ErrReplay) {
			return nil, fail(ReasonReplayed, ErrReplay)
		}
		return nil, fail(ReasonReplayUnavailable, err)
	}
	return &Proof{JKT: key.ID(), JTI: c.Jti, Alg: h.Alg, IssuedAt: iat, NextNonce: next}, nil
}

// isDPoPType reports whether typ names the media type application/dpop+jwt:
// "dpop+jwt" or "application/dpop+jwt", case-insensitively (media types are,
// RFC 9110 §8.3.1; RFC 7515 §4.1.9 lets "application/" be left out).
func isDPoPType(typ string) bool {
	const prefix = "application/"
	if len(typ) > len(prefix) && strings.EqualFold(typ[:len(prefix)], prefix) {
		typ = typ[len(prefix):]
	}
	return strings.EqualFold(typ, "dpop+jwt")
}

// athMatches compares ath with base64url(SHA-256(token)) in constant time.
func athMatches(ath, token string) bool {
	sum := sha256.Sum256([]byte(token))
	var want [43]byte
	base64.RawURLEncoding.Encode(want[:], sum[:])
	if len(ath) != len(want) {
		return false
	}
	var x byte
	for i := range want {
		x |= want[i] ^ ath[i]
	}
	return x == 0
}

// checkHTU compares htu with r's URI (see htu.go), returning a reason or "".
func (v *Verifier) checkHTU(r *http.Request, htu string) string {
	scheme, host, path, ok := normalizeHTU(htu)
	if !ok {
		return ReasonHTUInvalid
	}
	rs, rh, rp, ok := v.requestURL(r)
	if !ok || scheme != rs || host != rh || path != rp {
		return ReasonHTUMismatch
	}
	return ""
}

// requestURL returns r's normalised scheme, host and path as the client
// sees them: PublicURL's scheme, host and prefix when set; else the scheme
// and host a trusted proxy reports (each falling back to the request's
// own); else the request's (https when it came over TLS).
func (v *Verifier) requestURL(r *http.Request) (scheme, host, path string, ok bool) {
	p := r.URL.EscapedPath()
	if v.scheme != "" {
		scheme, host = v.scheme, v.host
		if v.prefix != "" {
			p = v.prefix + p
		}
	} else {
		scheme, host = "http", r.Host
		if r.TLS != nil {
			scheme = "https"
		}
		if fs, fh, trusted := v.proxies.Forwarded(r); trusted {
			switch {
			case fs == "":
			case strings.EqualFold(fs, "https"):
				scheme = "https"
			case strings.EqualFold(fs, "http"):
				scheme = "http"
			default:
				return "", "", "", false
			}
			if fh != "" {
				host = fh
			}
		}
		if host, ok = normalizeHost(host, scheme); !ok {
			return "", "", "", false
		}
	}
	if path, ok = normalizePath(p); !ok {
		return "", "", "", false
	}
	return scheme, host, path, true
}
