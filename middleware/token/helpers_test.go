package token

import (
	"testing"

	"github.com/apiguard/apiguard/internal/jwstest"
)

// The shared test keys and clock (internal/jwstest), under the names the
// tests of this package use.
var (
	issKey      = jwstest.Signer
	newIssClock = jwstest.NewClock
	issGetJWKS  = jwstest.GetJWKS
)

type issClock = jwstest.Clock

// issParsed is a token taken apart by hand, without the gate.
type issParsed struct {
	headerJSON, claimsJSON []byte
	header, claims         map[string]any
	signingInput, sig      []byte
}

func issParse(t testing.TB, tok string) issParsed {
	t.Helper()
	p := jwstest.Parse(t, tok)
	return issParsed{p.HeaderJSON, p.ClaimsJSON, p.Header, p.Claims, p.SigningInput, p.Sig}
}
