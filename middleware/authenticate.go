package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/internal/reqctx"
)

// AuthConfig configures an Authenticator. Gate is required; every other zero
// field means its documented default.
type AuthConfig struct {
	// Gate verifies the tokens.
	Gate *Gate
	// Realm is the RFC 6750 realm of WWW-Authenticate. Default "api". It must
	// be printable ASCII without '"' or '\'.
	Realm string
	// Optional lets requests without any bearer credentials through
	// unauthenticated (no claims in the context). Credentials that are
	// present but bad are still refused.
	Optional bool
	// QueryParam, when set (RFC 6750 §2.3 uses "access_token"), also reads a
	// token from that query parameter. Default off: tokens in URLs end up in
	// logs and Referer headers.
	QueryParam string
	// Cookie, when set, also reads a token from the cookie of that name.
	// Default off. Cookies are sent by browsers on cross-site requests, so
	// CSRFOrigins or CSRFHeader is then required.
	Cookie string
	// CSRFOrigins are the origins (scheme://host[:port]) whose unsafe
	// requests (not GET, HEAD or OPTIONS) may authenticate with the cookie.
	CSRFOrigins []string
	// CSRFHeader, when set (for example "X-Requested-With"), lets an unsafe
	// request authenticate with the cookie when it carries that header, which
	// a cross-site form cannot send.
	CSRFHeader string
	// ErrorWriter writes refusals. Default WriteError.
	ErrorWriter ErrorWriter
	// OnFailure is told of every refusal caused by the client's credentials
	// (not of requests without any, nor of 503s); the brute-force guard counts
	// them.
	OnFailure func(*http.Request, *Error)
	// Audit records auditlog.TokenRejected for every refusal of presented
	// credentials, and auditlog.SecurityThreat as well when Reason.Threat().
	// Default: nothing recorded.
	Audit *auditlog.Logger
}

// Authenticator is the Bearer authentication middleware: it extracts the
// token, has the Gate verify it, and puts the claims in the request context.
// It is safe for concurrent use.
type Authenticator struct {
	gate        *Gate
	realm       string
	optional    bool
	queryParam  string
	cookie      string
	csrfOrigins []string
	csrfHeader  string
	writeError  ErrorWriter
	onFailure   func(*http.Request, *Error)
	audit       *auditlog.Logger
}

// NewAuthenticator validates cfg and returns an Authenticator.
func NewAuthenticator(cfg AuthConfig) (*Authenticator, error) {
	a := &Authenticator{
		gate:       cfg.Gate,
		realm:      cfg.Realm,
		optional:   cfg.Optional,
		queryParam: cfg.QueryParam,
		cookie:     cfg.Cookie,
		writeError: cfg.ErrorWriter,
		onFailure:  cfg.OnFailure,
		audit:      cfg.Audit,
	}
	if a.gate == nil {
		return nil, errors.New("apiguard: AuthConfig.Gate is nil")
	}
	if a.realm == "" {
		a.realm = "api"
	}
	if !quotedStringSafe(a.realm) {
		return nil, fmt.Errorf("apiguard: AuthConfig.Realm %q must be printable ASCII without '\"' or '\\'", a.realm)
	}
	if a.cookie != "" {
		if !isCookieName(a.cookie) {
			return nil, fmt.Errorf("apiguard: AuthConfig.Cookie %q is not a valid cookie name", a.cookie)
		}
		if len(cfg.CSRFOrigins) == 0 && cfg.CSRFHeader == "" {
			return nil, errors.New("apiguard: AuthConfig.Cookie is set but neither CSRFOrigins nor CSRFHeader is: cookie tokens need a CSRF defence")
		}
	}
	for _, o := range cfg.CSRFOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || o != u.Scheme+"://"+u.Host {
			return nil, fmt.Errorf("apiguard: AuthConfig.CSRFOrigins contains %q, not an origin (scheme://host[:port])", o)
		}
		a.csrfOrigins = append(a.csrfOrigins, o)
	}
	if cfg.CSRFHeader != "" {
		if !isCookieName(cfg.CSRFHeader) {
			return nil, fmt.Errorf("apiguard: AuthConfig.CSRFHeader %q is not a header name", cfg.CSRFHeader)
		}
		a.csrfHeader = textproto.CanonicalMIMEHeaderKey(cfg.CSRFHeader)
		switch a.csrfHeader {
		case "Origin", "Cookie", "Authorization", "Content-Type", "Accept", "Referer", "User-Agent":
			return nil, fmt.Errorf("apiguard: AuthConfig.CSRFHeader %q is sent by browsers on cross-site requests", cfg.CSRFHeader)
		}
	}
	if a.queryParam != "" && a.queryParam != url.QueryEscape(a.queryParam) {
		return nil, fmt.Errorf("apiguard: AuthConfig.QueryParam %q needs escaping", a.queryParam)
	}
	if a.writeError == nil {
		a.writeError = WriteError
	}
	return a, nil
}

// isCookieName reports whether s is an RFC 7230 token (cookie and header
// names are tokens).
func isCookieName(s string) bool {
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

func (a *Authenticator) authenticate(r *http.Request) (*Claims, string, *Error) {
	token, src, reason := a.extract(r)
	if reason != "" {
		return nil, "", newError(reason, nil)
	}
	if src == fromNone {
		if a.optional {
			return nil, "", nil
		}
		return nil, "", newError(ReasonNoToken, nil)
	}
	now := a.gate.now()
	if c, ok := a.gate.cached(token, now); ok {
		if e := a.gate.checkRevoked(c); e != nil {
			return nil, token, e
		}
		return c, token, nil
	}
	if src == fromHeader && !isB64Token(token) {
		return nil, "", newError(ReasonMalformedHeader, nil)
	}
	c, e := a.gate.verifyMiss(r.Context(), token, now)
	return c, token, e
}

// Handler returns next behind Bearer authentication: authenticated requests
// reach next with the claims in their context (ClaimsFromContext) and, when
// the request has a reqctx.Info, with its Sub and JTI filled; refusals are
// answered by the ErrorWriter and next is not called.
func (a *Authenticator) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, token, e := a.authenticate(r)
		if e != nil {
			a.refuse(w, r, token, e)
			return
		}
		if c == nil { // Optional, no credentials
			next.ServeHTTP(w, r)
			return
		}
		if info, ok := reqctx.From(r.Context()); ok {
			info.Sub, info.JTI = c.Subject, c.JTI
		}
		next.ServeHTTP(w, r.WithContext(WithClaims(r.Context(), c)))
	})
}

func (a *Authenticator) refuse(w http.ResponseWriter, r *http.Request, token string, e *Error) {
	e.Realm = a.realm
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
		if a.onFailure != nil && e.Status != http.StatusServiceUnavailable {
			a.onFailure(r, e)
		}
	}
	a.writeError(w, r, e)
}
