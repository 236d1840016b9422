package middleware

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/apiguard/apiguard/internal/strictjson"
	"github.com/apiguard/apiguard/middleware/jose"
)

// verify is the gate's one sequence of checks: a validation-cache hit needs
// only the revocation check; a miss runs every step. fromHeader says the
// token came from an Authorization header whose b64token syntax has not been
// checked yet (see bearerCandidate): every cached token, and every token the
// shape check accepts, is a b64token, so only a refused one needs that scan.
func (a *Authenticator) verify(ctx context.Context, token string, fromHeader bool) (_ *Claims, hit bool, _ *Error) {
	now := a.now()
	if c, ok := a.cached(token, now); ok {
		if e := a.checkRevoked(c); e != nil {
			return nil, true, e
		}
		return c, true, nil
	}
	c, e := a.verifyMiss(ctx, token, now)
	if e != nil && fromHeader && (e.Reason == ReasonMalformed || e.Reason == ReasonBadBase64) && !isB64Token(token) {
		// Not even RFC 6750's b64token: a malformed header, not a bad
		// token. Every compact JWS is a b64token, so only a token the
		// shape check refused needs this scan.
		return nil, false, newError(ReasonMalformedHeader, nil)
	}
	return c, false, e
}

// cached returns the claims of a token validated before and still live at
// now. The caller must still check revocation.
func (a *Authenticator) cached(token string, now time.Time) (*Claims, bool) {
	if a.cache == nil || len(token) > a.maxSize {
		return nil, false
	}
	return a.cache.get(token, now)
}

// verifyMiss runs every step of the gate but the cache lookup.
func (a *Authenticator) verifyMiss(ctx context.Context, token string, now time.Time) (*Claims, *Error) {
	if len(token) > a.maxSize {
		return nil, newError(ReasonTokenTooLarge, nil)
	}

	// Shape.
	parts, reason := parseCompact(token, a.maxSize, b64)
	if reason != "" {
		return nil, newError(reason, nil)
	}

	// Header. Crit gets no buffer of its own: the header's strings escape
	// with the kid, which would take a buffer to the heap on every token,
	// while crit is rare and allocates only when present.
	var h strictjson.Header
	if err := strictjson.ParseHeader(parts.header, &h); err != nil {
		return nil, jsonError(err, ReasonHeaderInvalid)
	}

	// Issuer: the shorthand's one, or the one the payload's iss names,
	// read (strictly, the signature not yet checked) before any key lookup,
	// so that a token is verified with its own issuer's keys only.
	t := a.one
	if t == nil {
		if e := checkHeaderCommon(&h); e != nil {
			return nil, e
		}
		var e *Error
		if t, e = a.pickIssuer(ctx, parts.payload); e != nil {
			e.KID = printable(h.Kid)
			return nil, e
		}
		if len(token) > t.maxSize {
			return nil, newError(ReasonTokenTooLarge, nil)
		}
	}
	if e := a.checkHeader(&h, t); e != nil {
		return nil, e
	}

	// Key.
	key, e := lookupKey(ctx, t, h.Kid, h.Alg)
	if e != nil {
		return nil, e
	}

	// Signature.
	if err := key.Verify(parts.signingInput, parts.sig); err != nil {
		e := newError(ReasonBadSignature, err)
		e.KID = key.ID()
		return nil, e
	}

	// Claims.
	c := &Claims{KID: h.Kid, Alg: h.Alg, raw: parts.payload, trusted: t, auth: a}
	sc := strictjson.Claims{Aud: c.audBuf[:0], Roles: c.roleBuf[:0], Scope: c.scopeBuf[:0], NoRolesScope: !t.profile.standard}
	if len(t.profile.names) > 0 {
		// The members a profile reads, kept by the decoder's one pass. (An
		// array on the stack would escape with sc and cost the default
		// profile an allocation.)
		sc.Select, sc.Selected = t.profile.names, make([]string, len(t.profile.names))
	}
	if err := strictjson.ParseClaims(parts.payload, &sc); err != nil {
		var te *strictjson.TypeError
		if errors.As(err, &te) && (te.Member == "exp" || te.Member == "nbf" || te.Member == "iat") {
			return nil, jsonError(err, ReasonExpInvalid)
		}
		return nil, jsonError(err, ReasonClaimInvalid)
	}
	c.Issuer, c.Subject, c.JTI, c.SessionID = sc.Iss, sc.Sub, sc.Jti, sc.Sid
	c.Audience = sc.Aud[:len(sc.Aud):len(sc.Aud)]
	c.Roles = sc.Roles[:len(sc.Roles):len(sc.Roles)]
	c.Scopes = sc.Scope[:len(sc.Scope):len(sc.Scope)]
	c.Expiry, c.NotBefore, c.IssuedAt = numericDate(sc.Exp), numericDate(sc.Nbf), numericDate(sc.Iat)
	c.Confirmation = Confirmation{JKT: sc.Cnf.JKT, X5TS256: sc.Cnf.X5TS256}
	c.ACR, c.AuthTime = sc.Acr, numericDate(sc.AuthTime)
	if len(c.Audience) == 0 {
		c.Audience = nil
	}
	if len(c.Roles) == 0 {
		c.Roles = nil
	}
	if len(c.Scopes) == 0 {
		c.Scopes = nil
	}
	until, reason := a.checkClaims(c, &sc, now, t)
	if reason != "" {
		e := newError(reason, nil)
		e.KID, e.JTI = key.ID(), printable(c.JTI)
		return nil, e
	}
	for _, v := range a.validators {
		if err := v(c); err != nil {
			e := newError(ReasonValidator, err)
			e.KID, e.JTI = key.ID(), printable(c.JTI)
			return nil, e
		}
	}

	// Revocation.
	if e := a.checkRevoked(c); e != nil {
		return nil, e
	}
	if a.cache != nil {
		a.cache.put(token, c, now, until)
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

// checkHeaderCommon applies the header rules that do not depend on the
// issuer, before the issuer of a token is looked for: a token without alg,
// with alg none, with an embedded key or a nested token is refused as such
// whatever iss it names.
func checkHeaderCommon(h *strictjson.Header) *Error {
	switch {
	case h.Alg == "":
		return newError(ReasonAlgMissing, nil)
	case asciiEqualFold(strings.TrimSpace(h.Alg), "none"):
		return newError(ReasonAlgNone, nil)
	case h.HasJKU || h.HasX5U || h.HasJWK || h.HasX5C:
		return newError(ReasonEmbeddedKey, nil)
	case asciiEqualFold(h.Cty, "JWT") || asciiEqualFold(h.Cty, "application/jwt"):
		return newError(ReasonNestedToken, nil)
	}
	return nil
}

// pickIssuer returns the trusted issuer the (unverified) payload's iss
// names: a configured one, else the resolver's answer. An unknown iss is
// refused before any key lookup.
func (a *Authenticator) pickIssuer(ctx context.Context, payload string) (*trusted, *Error) {
	iss, ok, err := strictjson.PeekString(payload, "iss")
	if err != nil {
		return nil, jsonError(err, ReasonClaimInvalid)
	}
	if !ok {
		return nil, newError(ReasonIssUnknown, nil)
	}
	if t := a.issuers[iss]; t != nil {
		return t, nil
	}
	if a.resolver == nil || len(iss) > MaxIssuerLength {
		return nil, newError(ReasonIssUnknown, nil)
	}
	t, err := a.resolver.lookup(ctx, iss)
	switch {
	case errors.Is(err, errRateLimited):
		return nil, newError(ReasonIssUnknown, err)
	case err != nil:
		return nil, newError(ReasonKeysUnavailable, err)
	case t == nil:
		return nil, newError(ReasonIssUnknown, nil)
	}
	return t, nil
}

// checkHeader applies the header rules with t's algorithms and profile.
func (a *Authenticator) checkHeader(h *strictjson.Header, t *trusted) *Error {
	if h.Alg == "" {
		return newError(ReasonAlgMissing, nil)
	}
	if asciiEqualFold(strings.TrimSpace(h.Alg), "none") {
		return newError(ReasonAlgNone, nil)
	}
	allowed := false
	for _, alg := range t.algs {
		if alg == h.Alg {
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
			for _, c := range a.critical {
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
	if !t.profile.typOK(h.Typ) {
		return newError(ReasonTypInvalid, nil)
	}
	if asciiEqualFold(h.Cty, "JWT") || asciiEqualFold(h.Cty, "application/jwt") {
		return newError(ReasonNestedToken, nil)
	}
	return nil
}

// lookupKey finds the key for the header's kid and alg among t's keys.
func lookupKey(ctx context.Context, t *trusted, kid, alg string) (*jose.Key, *Error) {
	if !kidOK(kid) {
		// Too long or with control characters: no key source has such a kid,
		// and a remote one must not be made to refresh for it.
		return nil, newError(ReasonUnknownKID, nil)
	}
	key, err := t.keys.LookupKey(ctx, kid, alg)
	switch {
	case err == nil && key != nil:
	case err == nil || errors.Is(err, jose.ErrKeyNotFound):
		// Does kid name a key of another algorithm? Then this is the
		// algorithm-confusion attack (HS256 "signed" with a public key),
		// reported as a threat rather than as an unknown kid.
		for _, other := range t.algs {
			if other == alg {
				continue
			}
			if k, err := t.keys.LookupKey(ctx, kid, other); err == nil && k != nil {
				e := newError(ReasonAlgMismatch, nil)
				e.KID = k.ID()
				return nil, e
			}
		}
		e := newError(ReasonUnknownKID, err)
		e.KID = printable(kid)
		return nil, e
	default:
		e := newError(ReasonKeysUnavailable, err)
		var ra interface{ RetryAfter() time.Duration }
		if errors.As(err, &ra) && ra.RetryAfter() > 0 {
			e.RetryAfter = ra.RetryAfter()
		}
		return nil, e
	}
	if key.Alg() != alg {
		// The KeySource contract already forbids this; never trust it alone.
		e := newError(ReasonAlgMismatch, nil)
		e.KID = key.ID()
		return nil, e
	}
	return key, nil
}

// checkClaims applies the claim rules and returns how long a cache entry for
// the token may live.
func (a *Authenticator) checkClaims(c *Claims, sc *strictjson.Claims, now time.Time, t *trusted) (time.Time, Reason) {
	if !sc.Exp.Set {
		return time.Time{}, ReasonExpMissing
	}
	if !c.Expiry.After(now.Add(-a.leeway)) {
		return time.Time{}, ReasonExpired
	}
	if sc.Nbf.Set && c.NotBefore.After(now.Add(a.leeway)) {
		return time.Time{}, ReasonNotYetValid
	}
	if sc.Iat.Set && c.IssuedAt.After(now.Add(a.leeway)) {
		return time.Time{}, ReasonIATFuture
	}
	until := c.Expiry
	if a.maxAge > 0 {
		if !sc.Iat.Set {
			return time.Time{}, ReasonIATMissing
		}
		if now.Sub(c.IssuedAt) > a.maxAge {
			return time.Time{}, ReasonTooOld
		}
		if old := c.IssuedAt.Add(a.maxAge); old.Before(until) {
			until = old
		}
	}
	if c.Issuer != t.name {
		return time.Time{}, ReasonIssMismatch
	}
	if t.profile.audClaim == "" {
		aud := false
		for _, x := range c.Audience {
			if contains(t.audiences, x) {
				aud = true
				break
			}
		}
		if !aud {
			return time.Time{}, ReasonAudMismatch
		}
	}
	// The profile's roles, scopes, audience claim and required claims.
	if r := t.profile.extract(c, sc.Selected, t.audiences); r != "" {
		return time.Time{}, r
	}
	if c.Subject == "" {
		return time.Time{}, ReasonSubMissing
	}
	if a.revocation != nil && c.JTI == "" {
		return time.Time{}, ReasonJTIMissing
	}
	if sc.Cnf.Set && sc.Cnf.JKT == "" && sc.Cnf.X5TS256 == "" {
		// Bound to a key the gate cannot check (cnf jwk, kid...): taking it
		// as a bearer token would drop the binding (RFC 7800 §3).
		return time.Time{}, ReasonCnfUnsupported
	}
	return until, ""
}

func (a *Authenticator) checkRevoked(c *Claims) *Error {
	if a.revocation == nil {
		return nil
	}
	revoked, err := a.revocation.IsRevoked(c.Issuer, c.JTI, c.Subject, c.SessionID, c.IssuedAt)
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
