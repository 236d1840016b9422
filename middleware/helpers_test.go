package middleware

import "github.com/apiguard/apiguard/internal/jwstest"

// The shared test keys and token signing (internal/jwstest), under the
// names the tests of this package use.
var (
	fixtureKeys  = jwstest.Keys
	signSegments = jwstest.SignSegments
	signBytes    = jwstest.SignBytes
	signJSON     = jwstest.SignJSON
)
