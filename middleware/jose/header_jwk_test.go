package jose

import (
	"crypto"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/apiguard/apiguard/internal/dpoptest"
)

var proofKeys = sync.OnceValue(dpoptest.NewKeys)

func TestParseHeaderJWK(t *testing.T) {
	k := proofKeys()
	ec := dpoptest.JWK(k.P256.Public())
	tests := []struct {
		name   string
		raw    string
		alg    string
		pub    crypto.PublicKey
		reason string
	}{
		{"ES256", ec, ES256, k.P256.Public(), ""},
		{"ES384", dpoptest.JWK(k.P384.Public()), ES384, k.P384.Public(), ""},
		{"ES512", dpoptest.JWK(k.P521.Public()), ES512, k.P521.Public(), ""},
		{"RS256", dpoptest.JWK(k.RSA.Public()), RS256, k.RSA.Public(), ""},
		{"PS256", dpoptest.JWK(k.RSA.Public()), PS256, k.RSA.Public(), ""},
		{"EdDSA", dpoptest.JWK(k.Ed.Public()), EdDSA, k.Ed.Public(), ""},
		{"Ed25519", dpoptest.JWK(k.Ed.Public()), Ed25519, k.Ed.Public(), ""},
		{"extra members and a kid", strings.Replace(ec, `{`, `{"kid":"mine","use":"sig","key_ops":["verify"],"alg":"ES256","ext":true,`, 1), ES256, k.P256.Public(), ""},
		{"private d", strings.Replace(ec, `}`, `,"d":"AAAA"}`, 1), ES256, nil, SkipPrivateMember},
		{"private oth", strings.Replace(dpoptest.JWK(k.RSA.Public()), `}`, `,"oth":[]}`, 1), RS256, nil, SkipPrivateMember},
		{"private k", strings.Replace(ec, `}`, `,"k":"AAAA"}`, 1), ES256, nil, SkipPrivateMember},
		{"oct", `{"kty":"oct","alg":"HS256"}`, ES256, nil, SkipSymmetricKey},
		{"HS256", ec, HS256, nil, SkipUnsupportedAlg},
		{"none", ec, "none", nil, SkipUnsupportedAlg},
		{"curve not the alg's", dpoptest.JWK(k.P384.Public()), ES256, nil, SkipAlgKeyMismatch},
		{"RSA key for ES256", dpoptest.JWK(k.RSA.Public()), ES256, nil, SkipAlgKeyMismatch},
		{"EC key for EdDSA", ec, EdDSA, nil, SkipAlgKeyMismatch},
		{"jwk alg differs", strings.Replace(ec, `{`, `{"alg":"ES384",`, 1), ES256, nil, SkipAlgKeyMismatch},
		{"use enc", strings.Replace(ec, `{`, `{"use":"enc",`, 1), ES256, nil, SkipUseNotSig},
		{"key_ops sign only", strings.Replace(ec, `{`, `{"key_ops":["sign"],`, 1), ES256, nil, SkipKeyOpsNoVerify},
		{"key_ops twice", strings.Replace(ec, `{`, `{"key_ops":["verify","verify"],`, 1), ES256, nil, SkipKeyOpsNoVerify},
		{"escaped newline in x", strings.Replace(ec, `"x":"`, `"x":"\n`, 1), ES256, nil, SkipMalformed},
		{"duplicate x", strings.Replace(ec, `{`, `{"x":"AA",`, 1), ES256, nil, SkipMalformed},
		{"point off the curve", offCurve(ec), ES256, nil, SkipInvalidKey},
		{"unknown kty", `{"kty":"AKP"}`, ES256, nil, SkipUnsupportedKty},
		{"no crv", `{"kty":"EC","x":"AA","y":"AA"}`, ES256, nil, SkipMalformed},
		{"crv secp256k1", `{"kty":"EC","crv":"secp256k1","x":"AA","y":"AA"}`, ES256, nil, SkipUnsupportedCrv},
		{"not an object", `"x"`, ES256, nil, SkipMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := ParseHeaderJWK(tt.raw, tt.alg)
			if tt.reason != "" {
				var je *JWKError
				if !errors.As(err, &je) || je.Reason != tt.reason {
					t.Fatalf("err %v, want reason %s", err, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, err := Thumbprint(tt.pub)
			if err != nil {
				t.Fatal(err)
			}
			if key.ID() != want || key.Alg() != tt.alg {
				t.Fatalf("kid %s alg %s, want the thumbprint %s and %s", key.ID(), key.Alg(), want, tt.alg)
			}
		})
	}
}

// offCurve is ec with its y coordinate changed (a point off P-256, the
// right size).
func offCurve(ec string) string {
	i := strings.Index(ec, `"y":"`) + 5
	c := byte('A')
	if ec[i] == 'A' {
		c = 'B'
	}
	return ec[:i] + string(c) + ec[i+1:]
}

// TestHeaderJWKThumbprintRFC7638 checks the thumbprint against RFC 7638
// §3.1's example key.
func TestHeaderJWKThumbprintRFC7638(t *testing.T) {
	raw := `{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`
	key, err := ParseHeaderJWK(raw, RS256)
	if err != nil {
		t.Fatal(err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; key.ID() != want {
		t.Fatalf("thumbprint %s, want %s", key.ID(), want)
	}
}
