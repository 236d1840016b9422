package middleware

import (
	"fmt"
	"net/http"
	"strings"
)

// GuardOptions configures RequireRolesWith and RequireScopesWith. The zero
// value is usable.
type GuardOptions struct {
	// Realm is the realm of WWW-Authenticate. Default "api".
	Realm string
	// ErrorWriter writes refusals. Default WriteError.
	ErrorWriter ErrorWriter
}

// RequireRoles lets a request through only when its claims (put in the
// context by an Authenticator) have every one of roles. A request without
// claims gets 401; one missing a role gets 403 insufficient_scope with
// scope="<roles>". It panics, when called, on an empty or unquotable role
// (literal configuration).
func RequireRoles(roles ...string) func(http.Handler) http.Handler {
	return RequireRolesWith(GuardOptions{}, roles...)
}

// RequireRolesWith is RequireRoles with options.
func RequireRolesWith(o GuardOptions, roles ...string) func(http.Handler) http.Handler {
	return newGuard("RequireRoles", o, roles, (*Claims).HasRole)
}

// RequireScopes lets a request through only when its claims have every one of
// scopes (all-of: list a route's scopes once each, or use two routes for
// alternatives). A request without claims gets 401; one missing a scope gets
// 403 insufficient_scope with scope="<scopes>". It panics, when called, on an
// empty or unquotable scope (literal configuration).
func RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	return RequireScopesWith(GuardOptions{}, scopes...)
}

// RequireScopesWith is RequireScopes with options.
func RequireScopesWith(o GuardOptions, scopes ...string) func(http.Handler) http.Handler {
	return newGuard("RequireScopes", o, scopes, (*Claims).HasScope)
}

func newGuard(name string, o GuardOptions, want []string, has func(*Claims, string) bool) func(http.Handler) http.Handler {
	if len(want) == 0 {
		panic("apiguard: " + name + " with nothing required")
	}
	for _, w := range want {
		if w == "" || !quotedStringSafe(w) || strings.Contains(w, " ") {
			panic(fmt.Sprintf("apiguard: %s: %q is not a scope token (printable ASCII without space, '\"' or '\\')", name, w))
		}
	}
	if o.Realm == "" {
		o.Realm = "api"
	}
	if !quotedStringSafe(o.Realm) {
		panic(fmt.Sprintf("apiguard: %s: realm %q is not quoted-string safe", name, o.Realm))
	}
	if o.ErrorWriter == nil {
		o.ErrorWriter = WriteError
	}
	want = append([]string(nil), want...)
	scope := strings.Join(want, " ")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := ClaimsFromContext(r.Context())
			if !ok {
				e := newError(ReasonNoToken, nil)
				e.Realm = o.Realm
				o.ErrorWriter(w, r, e)
				return
			}
			for _, x := range want {
				if !has(c, x) {
					e := newError(ReasonInsufficientScope, nil)
					e.Realm, e.Scope, e.JTI = o.Realm, scope, printable(c.JTI)
					if c.auth != nil { // resource_metadata, DPoP
						c.auth.challengeFor(e, c.Confirmation.JKT != "")
					}
					o.ErrorWriter(w, r, e)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}
