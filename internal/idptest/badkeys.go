package idptest

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"math/big"
	"testing"
)

// BadKey is one unusable JWK for resilience tests: a key set that carries it
// must still serve its good keys, and set this one aside as Reason says.
type BadKey struct {
	// Kid is the key's kid, distinct across BadKeys and from every
	// provider's kids ("bad-" and the reason).
	Kid string
	// Reason names the flaw, in the words of DESIGN.md "Identity providers".
	Reason string
	// Threat is true where publishing the key is itself a security incident
	// (private members in a public set).
	Threat bool
	// JSON is the JWK.
	JSON json.RawMessage
}

// The reasons of BadKeys.
const (
	ReasonWeakRSA       = "weak RSA modulus (1024 bits)"
	ReasonRSAExponent1  = "RSA public exponent 1"
	ReasonOffCurve      = "EC point not on its curve (P-256)"
	ReasonUnknownKty    = "unknown kty (AKP, ML-DSA-44)"
	ReasonUseEnc        = "use enc, not sig"
	ReasonKeyOpsEncrypt = "key_ops without verify"
	ReasonPrivate       = "private members (d, p, q, dp, dq, qi)"
	ReasonSymmetric     = "symmetric oct key in a remote set"
)

// BadKeys generates one key of each flaw, freshly (the RSA ones are real
// keys of their size, so only the named flaw is wrong). ROCA-weak moduli are
// not among them: they cannot be generated cheaply.
func BadKeys(t testing.TB) []BadKey {
	t.Helper()
	weak := genRSA(t, 1, 1024)[0]
	rs := genRSA(t, 4, 2048)
	ec, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("idptest: P-256: %v", err)
	}
	pt := ec.PublicKey().Bytes() // 0x04 || X || Y
	x, y := pt[1:33], append([]byte(nil), pt[33:]...)
	// Flip the low bit of y: (x, y±1) is on the curve only if y±1 = p-y,
	// which crypto/ecdh is asked to rule out.
	y[31] ^= 1
	if _, err := ecdh.P256().NewPublicKey(append(append([]byte{4}, x...), y...)); err == nil {
		t.Fatalf("idptest: the altered P-256 point is on the curve")
	}

	rsaPub := func(k *rsa.PrivateKey, kid string, extra ...member) obj {
		return append(obj{
			{"kty", "RSA"}, {"use", "sig"}, {"alg", "RS256"}, {"kid", kid},
			{"n", rsaN(&k.PublicKey)}, {"e", rsaE(&k.PublicKey)},
		}, extra...)
	}
	bi := func(i *big.Int) string { return b64u.EncodeToString(i.Bytes()) }
	priv := rs[3]

	keys := []struct {
		kid, reason string
		threat      bool
		jwk         obj
	}{
		{"bad-rsa-1024", ReasonWeakRSA, false, rsaPub(weak, "bad-rsa-1024")},
		{"bad-rsa-e1", ReasonRSAExponent1, false, rsaPub(rs[0], "bad-rsa-e1").with(map[string]any{"e": "AQ"})},
		{"bad-ec-off-curve", ReasonOffCurve, false, obj{
			{"kty", "EC"}, {"use", "sig"}, {"alg", "ES256"}, {"kid", "bad-ec-off-curve"}, {"crv", "P-256"},
			{"x", b64u.EncodeToString(x)}, {"y", b64u.EncodeToString(y)},
		}},
		{"bad-akp-ml-dsa-44", ReasonUnknownKty, false, obj{
			{"kty", "AKP"}, {"alg", "ML-DSA-44"}, {"kid", "bad-akp-ml-dsa-44"}, {"use", "sig"},
			{"pub", randB64u(1312)}, // the size of an ML-DSA-44 public key
		}},
		{"bad-use-enc", ReasonUseEnc, false, rsaPub(rs[1], "bad-use-enc").with(map[string]any{"use": "enc", "alg": "RSA-OAEP"})},
		{"bad-key-ops-encrypt", ReasonKeyOpsEncrypt, false, rsaPub(rs[2], "bad-key-ops-encrypt").with(map[string]any{"use": nil, "key_ops": []string{"encrypt"}})},
		{"bad-rsa-private", ReasonPrivate, true, rsaPub(priv, "bad-rsa-private",
			member{"d", bi(priv.D)}, member{"p", bi(priv.Primes[0])}, member{"q", bi(priv.Primes[1])},
			member{"dp", bi(priv.Precomputed.Dp)}, member{"dq", bi(priv.Precomputed.Dq)}, member{"qi", bi(priv.Precomputed.Qinv)},
		)},
		{"bad-oct", ReasonSymmetric, false, obj{
			{"kty", "oct"}, {"use", "sig"}, {"alg", "HS256"}, {"kid", "bad-oct"}, {"k", randB64u(32)},
		}},
	}
	out := make([]BadKey, 0, len(keys))
	for _, k := range keys {
		out = append(out, BadKey{Kid: k.kid, Reason: k.reason, Threat: k.threat, JSON: mustJSON(t, k.jwk)})
	}
	return out
}

// AddBadKeys publishes every key of BadKeys after the provider's own, and
// returns them.
func (p *Provider) AddBadKeys(t testing.TB) []BadKey {
	t.Helper()
	bad := BadKeys(t)
	for _, b := range bad {
		p.AddKeyJSON(b.JSON)
	}
	return bad
}
