package middleware

import "context"

type contextKey struct{ name string }

// claimsKey is a pointer, so storing a *Claims under it does not allocate.
var claimsKey = &contextKey{"apiguard-claims"}

// WithClaims returns a copy of ctx carrying c. The Authenticator does this
// for every authenticated request; tests of handlers can use it directly.
func WithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey, c)
}

// ClaimsFromContext returns the claims the Authenticator put in ctx. ok is
// false for an unauthenticated request (none, or Optional mode without
// credentials). The claims must not be modified (see Claims).
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey).(*Claims)
	return c, ok && c != nil
}
