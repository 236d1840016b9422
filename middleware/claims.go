package middleware

import (
	"encoding/json"
	"time"

	"github.com/apiguard/apiguard/internal/strictjson"
)

// Claims are the validated claims of an access token.
//
// Claims are immutable once the gate returns them: a validation-cache hit
// returns the same *Claims to every request presenting the same token,
// concurrently, so neither the fields nor the slices may be modified. Copy
// what you need to change.
type Claims struct {
	Issuer  string // iss
	Subject string // sub
	JTI     string // jti ("" when absent and no revocation list is configured)
	// SessionID is the "sid" claim ("" when absent): the refresh-token
	// family an access token was minted from, which a revocation list can
	// revoke as a whole (RevocationList.RevokeSession).
	SessionID string
	KID       string    // the header's kid ("" when absent)
	Alg       string    // the header's alg
	Audience  []string  // aud, a string or an array in the token
	Expiry    time.Time // exp
	// NotBefore and IssuedAt are the zero time when the token has no nbf / iat.
	NotBefore time.Time
	IssuedAt  time.Time
	Roles     []string // the "roles" claim, an array of strings
	Scopes    []string // the "scope" claim, a space-separated string or an array
	// Confirmation is the "cnf" claim: the key (DPoP) or client
	// certificate (mutual TLS) the token is bound to, which the
	// Authenticator has checked the request against. Zero for a bearer
	// token.
	Confirmation Confirmation
	// ACR is the "acr" claim, the authentication context class the user
	// authenticated with ("" when absent); AuthTime is "auth_time", when
	// the user authenticated (the zero time when absent). RequireStepUp
	// reads them.
	ACR      string
	AuthTime time.Time

	raw     string         // the claims set JSON, strictly validated
	trusted *trusted       // the issuer whose keys and rules verified the token
	auth    *Authenticator // the Authenticator that verified it, whose challenges the guards write

	// Inline capacity so a typical token decodes into one allocation.
	audBuf   [2]string
	roleBuf  [4]string
	scopeBuf [4]string
}

// Confirmation is the "cnf" claim of a token (RFC 7800 §3.1) as far as the
// gate checks it: a token bound to a key or a certificate is accepted only
// from a client proving it holds that key or certificate.
type Confirmation struct {
	// JKT is cnf.jkt, the RFC 7638 SHA-256 thumbprint (base64url) of the
	// client's DPoP key (RFC 9449 §6.1): the request must carry a DPoP
	// proof signed with that key.
	JKT string
	// X5TS256 is cnf["x5t#S256"], the SHA-256 thumbprint (base64url) of
	// the DER of the client's certificate (RFC 8705 §3.1): the request must
	// come with that certificate.
	X5TS256 string
}

// HasRole reports whether role is one of c.Roles.
func (c *Claims) HasRole(role string) bool {
	for _, r := range c.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// HasScope reports whether scope is one of c.Scopes.
func (c *Claims) HasScope(scope string) bool {
	for _, s := range c.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// Get returns a copy of the raw JSON value of the top-level claim name (any
// claim, registered or not), and whether the token has it. Names are compared
// after unescaping.
func (c *Claims) Get(name string) (json.RawMessage, bool) {
	v, ok := strictjson.Member(c.raw, name)
	if !ok {
		return nil, false
	}
	return json.RawMessage(v), true
}

// Raw returns a copy of the whole claims set JSON.
func (c *Claims) Raw() json.RawMessage { return json.RawMessage(c.raw) }

func numericDate(d strictjson.NumericDate) time.Time {
	if !d.Set {
		return time.Time{}
	}
	return time.Unix(d.Sec, d.Nsec).UTC()
}
