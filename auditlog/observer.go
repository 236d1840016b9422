package auditlog

import (
	"context"
	"net/url"
	"time"
)

// Observer is told of apiguard's decisions as they are made, for tracing:
// package auditlog/otel turns them into OpenTelemetry span events and spans.
// The packages that decide (middleware, middleware/jose, ratelimit) hold
// one in their configuration (a field named Observer) and call it only when
// it is set, so that without one a decision costs one nil check more.
//
// What an Observer is given never holds a token, a secret, a password, a
// client key or an IP: the types below have no field for them, and the URL
// of a fetch comes without its query, fragment or userinfo.
//
// Methods are called on the request's goroutine (fetches on the fetching
// one), must be safe for concurrent use, and must not block. An
// implementation that embeds NopObserver keeps compiling when a method is
// added.
type Observer interface {
	// TokenChecked is called once per request that presented a token, when
	// the gate has decided (accepted or refused), with the request's
	// context.
	TokenChecked(ctx context.Context, c TokenCheck)
	// Fetched is called after each fetch of a remote document (a JWK Set,
	// a discovery document), with the fetch's context (a background one for
	// a refresh).
	Fetched(ctx context.Context, f Fetch)
	// LimitChecked is called once per rate-limit or lockout decision, with
	// the request's context.
	LimitChecked(ctx context.Context, d LimitCheck)
}

// NopObserver does nothing. Embed it in an Observer to implement only some
// methods.
type NopObserver struct{}

// TokenChecked does nothing.
func (NopObserver) TokenChecked(context.Context, TokenCheck) {}

// Fetched does nothing.
func (NopObserver) Fetched(context.Context, Fetch) {}

// LimitChecked does nothing.
func (NopObserver) LimitChecked(context.Context, LimitCheck) {}

// TokenCheck is one decision of the token gate. It names the token by its
// header and issuer only.
type TokenCheck struct {
	OK     bool   // the token was accepted
	Cached bool   // decided from the validation cache (revocation still checked)
	Alg    string // the header's alg, when accepted
	KID    string // the header's kid, when known
	Iss    string // the issuer, when accepted
	Reason string // the gate's reason code, when refused
	Status int    // the HTTP status of the refusal; 0 when accepted
}

// The kinds of remote documents a Fetch reports.
const (
	FetchJWKS      = "jwks"
	FetchDiscovery = "discovery"
)

// Fetch is one HTTP fetch of a remote document.
type Fetch struct {
	Kind     string    // FetchJWKS or FetchDiscovery
	URL      string    // scheme://host/path, made by FetchURL
	Start    time.Time // when the request was sent
	Duration time.Duration
	Status   int   // the response's status; 0 when none came
	Err      error // nil when the document was read and usable; never holds the URL
}

// FetchURL returns raw as a Fetch's URL: scheme, host and path only, without
// userinfo, query or fragment, which may carry credentials. A URL that does
// not parse gives "".
func FetchURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

// The kinds of decisions a LimitCheck reports.
const (
	LimitRate    = "rate_limit" // a ratelimit.Limiter's budget
	LimitLockout = "lockout"    // a ratelimit.Guard's lockout check
)

// LimitCheck is one rate-limit or lockout decision. It names the policy,
// never the client (no key, no IP).
type LimitCheck struct {
	Kind       string // LimitRate or LimitLockout
	Policy     string // the limiter's Name (Name+"-ip" for the IP ceiling), or the guard's "login" or "token"
	Allowed    bool
	Limit      int           // requests per period of the deciding limit; 0 for a lockout
	Period     time.Duration // its period
	Remaining  int           // requests left now
	RetryAfter time.Duration // when refused: until a request would be allowed
	StoreError bool          // the store failed; Allowed follows the fail-open/closed setting
}
