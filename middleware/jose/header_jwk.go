package jose

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strings"

	"github.com/apiguard/apiguard/internal/strictjson"
)

// JWKError is why ParseHeaderJWK refused a key. Reason is one of the Skip*
// codes; Detail says what exactly, in fixed words (never key material).
type JWKError struct{ Reason, Detail string }

func (e *JWKError) Error() string { return "apiguard: JWK: " + e.Reason + ": " + e.Detail }

// ParseHeaderJWK reads the public key a JWS carries in its own header (the
// "jwk" member, RFC 7515 §4.1.3), as RFC 9449 §4.2 requires of a DPoP
// proof, and binds it to alg, the header's algorithm. raw is the member's
// JSON text (strictjson.Header.JWK, already validated as part of the header).
//
// The key is held to the rules of a key in ParseJWKSWith (strict JSON, "use"
// "sig" and "key_ops" with "verify" when present, a point on its curve, an
// RSA modulus of MinRSABits to MaxRSABits, ...) and more: alg must be an
// asymmetric algorithm and fit the key's type and curve, an "alg" member, if
// any, must equal it, a symmetric ("oct") key or any private member (d, p,
// q, dp, dq, qi, oth, k) refuses the key, and the key material must be
// canonical base64url text. The returned Key's ID is the key's RFC 7638
// thumbprint (SHA-256, base64url; what a DPoP-bound token's cnf.jkt names),
// whatever kid the JWK carries.
//
// Unlike ParseJWK it uses no reflection: it runs once per proof, beside one
// signature check. Errors are *JWKError.
func ParseHeaderJWK(raw, alg string) (*Key, error) {
	var j strictjson.JWK
	if err := strictjson.ParseJWK(raw, &j); err != nil {
		return nil, &JWKError{SkipMalformed, strings.TrimPrefix(err.Error(), "strictjson: ")}
	}
	if j.Private != "" { // one of the fixed names, never input
		return nil, &JWKError{SkipPrivateMember, "private member " + j.Private}
	}
	want := algKeyType(alg)
	switch want {
	case "":
		return nil, &JWKError{SkipUnsupportedAlg, "alg is not a signature algorithm apiguard verifies"}
	case "oct":
		return nil, &JWKError{SkipUnsupportedAlg, "alg is symmetric"}
	}
	switch {
	case j.Kty == "oct":
		return nil, &JWKError{SkipSymmetricKey, "symmetric (oct) key"}
	case j.Kty != "RSA" && j.Kty != "EC" && j.Kty != "OKP":
		return nil, &JWKError{SkipUnsupportedKty, "kty is not RSA, EC or OKP"}
	case j.Use != "" && j.Use != "sig":
		return nil, &JWKError{SkipUseNotSig, "use is not \"sig\""}
	case j.HasKeyOps && !keyOpsVerify(j.KeyOps):
		return nil, &JWKError{SkipKeyOpsNoVerify, "key_ops does not contain \"verify\" once"}
	case j.Alg != "" && j.Alg != alg:
		return nil, &JWKError{SkipAlgKeyMismatch, "the key's alg differs from the header's"}
	}
	for _, m := range [...]string{j.X, j.Y, j.N, j.E} {
		if !isB64URLText(m) {
			return nil, &JWKError{SkipMalformed, "key material is not canonical base64url"}
		}
	}
	f := jwkFields{Kty: &j.Kty, Crv: optional(&j.Crv), X: optional(&j.X), Y: optional(&j.Y), N: optional(&j.N), E: optional(&j.E)}
	pub, typ, s := publicFromJWK(&f, false)
	if s != nil {
		return nil, &JWKError{s.Reason, s.Detail}
	}
	if typ != want {
		return nil, &JWKError{SkipAlgKeyMismatch, "alg " + alg + " does not fit a " + typ + " key"}
	}
	k, err := NewKey(headerJWKThumbprint(pub, &j), alg, pub)
	if err != nil { // every check NewKey makes was made above
		return nil, &JWKError{SkipInvalidKey, "refused by NewKey"}
	}
	return k, nil
}

func optional(s *string) *string {
	if *s == "" {
		return nil
	}
	return s
}

// keyOpsVerify reports whether ops holds "verify" and no value twice.
func keyOpsVerify(ops []string) bool {
	verify := false
	for i, op := range ops {
		for _, prev := range ops[:i] {
			if prev == op {
				return false
			}
		}
		verify = verify || op == "verify"
	}
	return verify
}

// isB64URLText reports whether s has only base64url characters, so that
// (decoded strictly, as publicFromJWK does) it is the canonical text of its
// bytes: the strict decoder alone skips '\r' and '\n'.
func isB64URLText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// headerJWKThumbprint is Thumbprint for a key ParseHeaderJWK decoded from j,
// without jwx: the RFC 7638 members in lexicographic order, with no
// whitespace. EC and OKP coordinates are j's own text, canonical and of the
// curve's size; RSA values are re-encoded without leading zero octets (RFC
// 7518 §6.3.1), as Thumbprint does.
func headerJWKThumbprint(pub any, j *strictjson.JWK) string {
	var buf [256]byte
	b := buf[:0]
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		b = append(b, `{"crv":"`...)
		b = append(b, j.Crv...)
		b = append(b, `","kty":"EC","x":"`...)
		b = append(b, j.X...)
		b = append(b, `","y":"`...)
		b = append(b, j.Y...)
		b = append(b, `"}`...)
	case ed25519.PublicKey:
		b = append(b, `{"crv":"Ed25519","kty":"OKP","x":"`...)
		b = append(b, j.X...)
		b = append(b, `"}`...)
	case *rsa.PublicKey:
		b = append(b, `{"e":"`...)
		b = base64.RawURLEncoding.AppendEncode(b, big.NewInt(int64(p.E)).Bytes())
		b = append(b, `","kty":"RSA","n":"`...)
		b = base64.RawURLEncoding.AppendEncode(b, p.N.Bytes())
		b = append(b, `"}`...)
	}
	sum := sha256.Sum256(b)
	var out [43]byte
	base64.RawURLEncoding.Encode(out[:], sum[:])
	return string(out[:])
}
