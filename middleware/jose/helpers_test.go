package jose

import (
	"testing"

	"github.com/apiguard/apiguard/internal/jwstest"
)

// The shared test keys, clock and signing (internal/jwstest), under the
// names the tests of this package use.
var (
	fixtureKeys = jwstest.Keys
	signBytes   = jwstest.SignBytes
	issKey      = jwstest.Signer
	newIssClock = jwstest.NewClock
	issGetJWKS  = jwstest.GetJWKS
)

type issClock = jwstest.Clock

func mustKey(tb testing.TB, kid, alg string, key any) *Key {
	tb.Helper()
	k, err := NewKey(kid, alg, key)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}
