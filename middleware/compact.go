package middleware

import (
	"encoding/base64"

	"github.com/apiguard/apiguard/internal/compact"
)

// compactParts is a JWS compact serialization split and decoded. header and
// payload are the decoded JSON texts (substrings of one string);
// signingInput and sig share one buffer.
type compactParts struct {
	header, payload string
	signingInput    []byte // "header.payload" as received
	sig             []byte
}

// parseCompact is internal/compact's Parse, the one strict shape parser that
// DPoP proofs (middleware/dpop) share with access tokens, with its faults
// named as the gate's reasons.
func parseCompact(token string, max int, enc *base64.Encoding) (compactParts, Reason) {
	p, fault := compact.Parse(token, max, enc)
	switch fault {
	case compact.OK:
		return compactParts{header: p.Header, payload: p.Payload, signingInput: p.SigningInput, sig: p.Sig}, ""
	case compact.TooLarge:
		return compactParts{}, ReasonTokenTooLarge
	case compact.BadBase64:
		return compactParts{}, ReasonBadBase64
	}
	return compactParts{}, ReasonMalformed
}
