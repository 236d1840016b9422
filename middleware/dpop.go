package middleware

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/apiguard/apiguard/middleware/dpop"
)

// Sender-constrained tokens at the gate: DPoP (RFC 9449 §7) here, mutual
// TLS (RFC 8705 §3) in mtls.go. The token's own checks run first, with the
// validation cache; the binding is checked on every request after them,
// the proof never cached.
//
// The rules, with the Authenticator's DPoP verifier set (Config.DPoP):
//
//   - Authorization: DPoP <token> needs a token with cnf.jkt and exactly
//     one valid proof for this request and this token (dpop.Verifier.Verify)
//     whose key's thumbprint equals cnf.jkt;
//   - a token with cnf.jkt presented as Bearer is refused (a downgrade,
//     RFC 9449 §7.2), and so it is when DPoP is not configured: a bound token
//     is never taken for a bearer one;
//   - a Bearer request that carries a DPoP header is refused: the proof
//     says the client holds a key, the scheme that the token is not bound to
//     it, and RFC 9449 §7.2's rule against downgrades leaves no reading of
//     that mix that is both safe and unambiguous (a bound token as Bearer is
//     the downgrade; an unbound token with a proof is what §7.1 answers with
//     invalid_token). Clients send a proof with the DPoP scheme only;
//   - with Config.DPoPRequired, or behind RequireDPoP, a token that is not
//     DPoP-bound is refused.

// setBinding validates the DPoP and mTLS configuration.
func (a *Authenticator) setBinding(cfg *Config) error {
	if cfg.DPoPRequired && cfg.DPoP == nil {
		return errors.New("apiguard: Config.DPoPRequired is set without Config.DPoP")
	}
	a.dpop, a.dpopRequired = cfg.DPoP, cfg.DPoPRequired
	if a.dpop != nil {
		algs := a.dpop.Algorithms()
		if len(algs) == 0 {
			return errors.New("apiguard: Config.DPoP allows no algorithm")
		}
		a.dpopAlgs = strings.Join(algs, " ")
		if !quotedStringSafe(a.dpopAlgs) {
			return fmt.Errorf("apiguard: Config.DPoP's algorithms %q cannot be quoted in a challenge", a.dpopAlgs)
		}
	}
	if cfg.MTLS != nil {
		m, err := newMTLS(cfg.MTLS)
		if err != nil {
			return err
		}
		a.mtls = m
	}
	return nil
}

// bound reports whether the request needs the binding checks: a token bound
// to a key or a certificate, the DPoP scheme, DPoP required, or a proof
// header where DPoP is on. Everything else is a plain bearer token.
func (a *Authenticator) bound(r *http.Request, c *Claims, src source) bool {
	return c.Confirmation != (Confirmation{}) || src == fromDPoP ||
		a.dpop != nil && (a.dpopRequired || len(r.Header["Dpop"]) > 0)
}

// bind checks that the request proves possession of what c is bound to. It
// returns the nonce the response should carry (Proof.NextNonce).
func (a *Authenticator) bind(r *http.Request, c *Claims, token string, src source) (string, *Error) {
	if c.Confirmation.X5TS256 != "" {
		if e := a.checkCertificate(r, c.Confirmation.X5TS256); e != nil {
			return "", e
		}
	}
	if src != fromDPoP {
		switch {
		case c.Confirmation.JKT != "":
			return "", boundError(ReasonDPoPDowngrade, c)
		case a.dpop == nil:
			return "", nil
		case len(r.Header["Dpop"]) > 0:
			return "", boundError(ReasonDPoPUnbound, c)
		case a.dpopRequired:
			return "", boundError(ReasonDPoPRequired, c)
		}
		return "", nil
	}
	if c.Confirmation.JKT == "" {
		return "", boundError(ReasonDPoPUnbound, c)
	}
	p, err := a.dpop.Verify(r, token)
	if err != nil {
		return "", proofError(err, c)
	}
	if p == nil || subtle.ConstantTimeCompare([]byte(p.JKT), []byte(c.Confirmation.JKT)) != 1 {
		return "", boundError(ReasonDPoPKeyMismatch, c)
	}
	return p.NextNonce, nil
}

// boundError is the refusal of a binding rule, with the token's ids for the
// log.
func boundError(r Reason, c *Claims) *Error {
	e := newError(r, nil)
	e.KID, e.JTI = printable(c.KID), printable(c.JTI)
	return e
}

// proofError maps a refusal of dpop.Verifier.Verify: a replay (a threat),
// a missing or stale nonce (use_dpop_nonce with a fresh one), a replay
// cache that cannot tell (503), or invalid_dpop_proof under the dpop
// package's own reason.
func proofError(err error, c *Claims) *Error {
	var de *dpop.Error
	if !errors.As(err, &de) {
		return boundError(ReasonDPoPProofInvalid, c)
	}
	var e *Error
	switch {
	case errors.Is(err, dpop.ErrReplay):
		e = newError(ReasonDPoPReplayed, err)
	case de.Status == http.StatusServiceUnavailable:
		e = newError(ReasonDPoPUnavailable, err)
	case de.Code == CodeUseDPoPNonce:
		e = newError(ReasonDPoPNonce, err)
		if de.Nonce != "" && quotedStringSafe(de.Nonce) {
			e.DPoPNonce = de.Nonce
		}
		if r := proofReason(de.Reason); r != "" {
			e.Reason = r
		}
	default:
		e = newError(ReasonDPoPProofInvalid, err)
		if r := proofReason(de.Reason); r != "" {
			e.Reason = r
		}
		if de.Description != "" && quotedStringSafe(de.Description) && len(de.Description) <= 128 {
			e.Description = de.Description // the contract: safe to send
		}
	}
	e.DPoP = true
	e.KID, e.JTI = printable(c.KID), printable(c.JTI)
	return e
}

// proofReason returns the dpop package's reason as a Reason when it is a
// short snake_case "dpop_..." code, and "" otherwise.
func proofReason(s string) Reason {
	if !strings.HasPrefix(s, "dpop_") || len(s) > 64 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return ""
		}
	}
	return Reason(s)
}

// challengeFor fills the challenge fields of e from the Authenticator's
// configuration: the realm, the DPoP challenge when DPoP is on (alone when
// it is required), and resource_metadata. dpopUsed says the request used
// DPoP, so that the error goes on the DPoP challenge.
func (a *Authenticator) challengeFor(e *Error, dpopUsed bool) {
	if e.Realm == "" {
		e.Realm = a.realm
	}
	if a.dpop != nil {
		e.DPoPAlgs = a.dpopAlgs
		e.DPoPOnly = e.DPoPOnly || a.dpopRequired
		e.DPoP = e.DPoP || dpopUsed
	}
	e.ResourceMetadata = a.metadataURL
}

// RequireDPoP returns a guard for the routes that accept DPoP-bound tokens
// only, so that one Authenticator serves routes where DPoP is allowed and
// routes where it is required: a request whose claims (put in the context by
// this Authenticator, which has already checked the proof) have no cnf.jkt
// gets 401 with the DPoP challenge alone, and one without claims 401 with no
// error. It panics, when called, if the Authenticator has no DPoP verifier
// (Config.DPoP): such a route could never be reached.
func (a *Authenticator) RequireDPoP() func(http.Handler) http.Handler {
	if a.dpop == nil {
		panic("apiguard: RequireDPoP on an Authenticator without Config.DPoP")
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := ClaimsFromContext(r.Context())
			if ok && c.Confirmation.JKT != "" {
				next.ServeHTTP(w, r)
				return
			}
			var e *Error
			if ok {
				e = boundError(ReasonDPoPRequired, c)
			} else {
				e = newError(ReasonNoToken, nil)
			}
			a.challengeFor(e, true)
			e.DPoPOnly = true
			a.writeError(w, r, e)
		})
	}
}
