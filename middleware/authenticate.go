package middleware

import (
	"context"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/middleware/dpop"
)

// Authenticator is the Bearer authentication middleware and the token gate
// in one: it extracts the token of a request, verifies it (the strict parse,
// header policy, key, signature, claims and revocation checks, with a
// validation cache), and puts the claims in the request context. Build it
// with New; it is safe for concurrent use.
type Authenticator struct {
	// The gate.
	one        *trusted            // the shorthand's issuer; nil with Issuers or IssuerResolver
	issuers    map[string]*trusted // Config.Issuers by iss
	resolver   *resolver           // Config.IssuerResolver, nil when unset
	leeway     time.Duration
	maxAge     time.Duration
	critical   []string
	revocation RevocationList
	cache      *cache
	maxSize    int
	validators []func(*Claims) error
	now        func() time.Time

	// The request side.
	realm       string
	optional    bool
	queryParam  string
	cookie      string
	csrfOrigins []string
	csrfHeader  string
	writeError  ErrorWriter
	failures    FailureCounter
	audit       *auditlog.Logger

	// Sender-constrained tokens (dpop.go, mtls.go) and metadata
	// (metadata.go).
	dpop          *dpop.Verifier
	dpopAlgs      string // for the DPoP challenge
	dpopRequired  bool
	mtls          *mtls
	metadata      []byte // the RFC 9728 document, nil without Config.Resource
	metadataCache string // its Cache-Control
	metadataURL   string // resource_metadata of the challenges

	observer auditlog.Observer // Config.Observer, nil when unset
}

// b64 is the strict decoder of the compact form: it refuses non-zero unused
// bits, so decoding is one-to-one.
var b64 = base64.RawURLEncoding.Strict()

// Verify checks token through every step of the gate and returns its claims,
// or an *Error saying why not. The claims must not be modified (see Claims).
// It neither writes nor records anything. Without a request it cannot check
// what a token is bound to: a caller accepting tokens with a
// Claims.Confirmation must check the DPoP proof or the client certificate
// itself (Authenticate and Handler do).
func (a *Authenticator) Verify(ctx context.Context, token string) (*Claims, error) {
	c, _, e := a.verify(ctx, token, false)
	if e != nil {
		return nil, e
	}
	return c, nil
}

// Authenticate checks r's credentials and returns the claims. It returns
// (nil, nil) for a request without credentials in Optional mode, and an
// *Error for every refusal. It does not write a response nor record anything.
func (a *Authenticator) Authenticate(r *http.Request) (*Claims, error) {
	c, _, e := a.authenticate(r)
	if e != nil {
		return nil, e
	}
	if c == nil {
		return nil, nil
	}
	return c, nil
}

// attempt is what authenticate learnt besides the claims: the token (for the
// audit log's token id), the DPoP nonce the response should carry, and
// whether the validation cache decided (for the Observer).
type attempt struct {
	token, nonce string
	cached       bool
}

// authenticate extracts r's token, verifies it and checks what it is bound
// to (a DPoP key, a client certificate).
func (a *Authenticator) authenticate(r *http.Request) (*Claims, attempt, *Error) {
	token, src, reason := a.extract(r)
	if reason != "" {
		e := newError(reason, nil)
		e.DPoP = src == fromDPoP
		return nil, attempt{}, e
	}
	if src == fromNone {
		if a.optional {
			return nil, attempt{}, nil
		}
		return nil, attempt{}, newError(ReasonNoToken, nil)
	}
	c, hit, e := a.verify(r.Context(), token, src == fromHeader || src == fromDPoP)
	if e != nil && e.Reason == ReasonMalformedHeader {
		token = "" // not a token: no token id in the audit log
	}
	at := attempt{token: token, cached: hit}
	if e == nil && a.bound(r, c, src) {
		at.nonce, e = a.bind(r, c, token, src)
	}
	if e != nil {
		e.DPoP = e.DPoP || src == fromDPoP
		return nil, at, e
	}
	return c, at, nil
}

// Handler returns next behind Bearer authentication: authenticated requests
// reach next with the claims in their context (ClaimsFromContext) and, when
// the request has a auditlog.RequestInfo, with its Sub and JTI filled; refusals are
// answered by the ErrorWriter and next is not called.
func (a *Authenticator) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, at, e := a.authenticate(r)
		if a.observer != nil {
			a.observe(r.Context(), c, at.cached, e)
		}
		if e != nil {
			a.refuse(w, r, at.token, e)
			return
		}
		if at.nonce != "" {
			w.Header()["Dpop-Nonce"] = []string{at.nonce}
		}
		if c == nil { // Optional, no credentials
			next.ServeHTTP(w, r)
			return
		}
		if info, ok := auditlog.RequestInfoFrom(r.Context()); ok {
			info.Sub, info.JTI = c.Subject, c.JTI
		}
		next.ServeHTTP(w, r.WithContext(WithClaims(r.Context(), c)))
	})
}

// Close stops the remote clients the Authenticator created (from JWKSURL
// and Discovery, of every issuer, resolved ones included), and does nothing
// otherwise (a key source passed as Keys is the caller's to close). It is
// safe to call more than once.
func (a *Authenticator) Close() error {
	return a.closeIssuers()
}

// observe tells the Observer of the gate's decision, if a token was
// presented; never the token itself.
func (a *Authenticator) observe(ctx context.Context, c *Claims, hit bool, e *Error) {
	switch {
	case e != nil && e.Reason != ReasonNoToken:
		a.observer.TokenChecked(ctx, auditlog.TokenCheck{Cached: hit, KID: e.KID, Reason: string(e.Reason), Status: e.Status})
	case c != nil:
		a.observer.TokenChecked(ctx, auditlog.TokenCheck{OK: true, Cached: hit, Alg: c.Alg, KID: c.KID, Iss: c.Issuer})
	}
}

func (a *Authenticator) refuse(w http.ResponseWriter, r *http.Request, token string, e *Error) {
	a.challengeFor(e, false)
	if e.Reason != ReasonNoToken {
		if a.audit != nil {
			ev := auditlog.Event{
				Name:   auditlog.TokenRejected,
				Reason: string(e.Reason),
				KID:    e.KID,
				JTI:    e.JTI,
				Status: e.Status,
				Detail: e.Description,
			}
			if token != "" {
				ev.Token = auditlog.TokenID(token)
			}
			a.audit.Record(r, ev)
			if e.Reason.Threat() {
				ev.Name = auditlog.SecurityThreat
				a.audit.Record(r, ev)
			}
		}
		if a.failures != nil && e.Status != http.StatusServiceUnavailable && e.Code != CodeUseDPoPNonce {
			a.failures.TokenFailed(r)
		}
	}
	a.writeError(w, r, e)
}
