package middleware

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// StepUp is what a route requires of the user's authentication (RFC 9470):
// an authentication context class among ACR, a recent authentication (no
// longer than MaxAge ago), or both. A request that falls short gets 401
// error="insufficient_user_authentication" with acr_values and/or max_age
// in the challenge, which tells the client what to ask the authorization
// server for (acr_values and max_age in its authorization request).
type StepUp struct {
	// ACR, when not empty, lists the acceptable "acr" values (any one
	// will do). Each must be printable ASCII without space, '"' or '\'.
	ACR []string
	// MaxAge, when positive, requires "auth_time" no more than MaxAge ago
	// (and not in the future beyond the Authenticator's leeway). Whole
	// seconds: the challenge's max_age is in seconds.
	MaxAge time.Duration
	// Now is the clock. Default: the clock of the Authenticator that
	// verified the claims (Config.Now), else time.Now.
	Now func() time.Time
	// GuardOptions are the realm and the error writer, as for
	// RequireScopesWith. Default: the realm and the error writer of the
	// Authenticator that verified the claims (without claims, DefaultRealm
	// and WriteError). The challenges' other parameters (DPoP,
	// resource_metadata) are always that Authenticator's.
	GuardOptions
}

// NewStepUp validates s and returns its guard: requests whose claims (put in
// the context by an Authenticator) satisfy s reach next; others get 401
// insufficient_user_authentication, and requests without claims 401 with no
// error. Every bad field is an error naming it.
func NewStepUp(s StepUp) (func(http.Handler) http.Handler, error) {
	if len(s.ACR) == 0 && s.MaxAge == 0 {
		return nil, fmt.Errorf("apiguard: StepUp requires nothing: set ACR, MaxAge or both")
	}
	for i, v := range s.ACR {
		if v == "" || !quotedStringSafe(v) || strings.Contains(v, " ") {
			return nil, fmt.Errorf("apiguard: StepUp.ACR[%d] %q is not an acr value (printable ASCII without space, '\"' or '\\')", i, v)
		}
	}
	switch {
	case s.MaxAge < 0:
		return nil, fmt.Errorf("apiguard: StepUp.MaxAge is negative (%v)", s.MaxAge)
	case s.MaxAge > 0 && s.MaxAge%time.Second != 0:
		return nil, fmt.Errorf("apiguard: StepUp.MaxAge %v is not whole seconds (max_age is in seconds)", s.MaxAge)
	}
	if s.Realm != "" && !quotedStringSafe(s.Realm) {
		return nil, fmt.Errorf("apiguard: StepUp.Realm %q is not quoted-string safe", s.Realm)
	}
	acr := append([]string(nil), s.ACR...)
	acrValues := strings.Join(acr, " ")
	maxAge, now, o := s.MaxAge, s.Now, s.GuardOptions
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := ClaimsFromContext(r.Context())
			var e *Error
			switch {
			case !ok:
				e = newError(ReasonNoToken, nil)
			case len(acr) > 0 && !contains(acr, c.ACR):
				e = newError(ReasonStepUpACR, nil)
			case maxAge > 0 && !recentAuth(c, maxAge, now):
				e = newError(ReasonStepUpMaxAge, nil)
			default:
				next.ServeHTTP(w, r)
				return
			}
			if ok {
				e.JTI = printable(c.JTI)
				e.ACRValues, e.MaxAge = acrValues, maxAge
			}
			writeGuardError(w, r, o, c, e)
		})
	}, nil
}

// RequireStepUp is NewStepUp for literal configuration: it panics, when
// called, on a bad StepUp, as RequireScopes does on a bad scope.
func RequireStepUp(s StepUp) func(http.Handler) http.Handler {
	g, err := NewStepUp(s)
	if err != nil {
		panic(err)
	}
	return g
}

// recentAuth reports whether c's auth_time is present, not in the future
// (beyond the leeway), and no more than maxAge ago.
func recentAuth(c *Claims, maxAge time.Duration, now func() time.Time) bool {
	if c.AuthTime.IsZero() {
		return false
	}
	leeway := DefaultLeeway
	if c.auth != nil {
		leeway = c.auth.leeway
		if now == nil {
			now = c.auth.now
		}
	}
	if now == nil {
		now = time.Now
	}
	t := now()
	return !c.AuthTime.After(t.Add(leeway)) && t.Sub(c.AuthTime) <= maxAge
}

// writeGuardError writes a guard's refusal with o's realm and writer, and
// the challenges of the Authenticator that verified c (nil: none known).
func writeGuardError(w http.ResponseWriter, r *http.Request, o GuardOptions, c *Claims, e *Error) {
	e.Realm = o.Realm
	write := o.ErrorWriter
	if c != nil && c.auth != nil {
		c.auth.challengeFor(e, c.Confirmation.JKT != "")
		if write == nil {
			write = c.auth.writeError
		}
	}
	if e.Realm == "" {
		e.Realm = DefaultRealm
	}
	if write == nil {
		write = WriteError
	}
	write(w, r, e)
}
