// Package dpoptest builds DPoP proofs (RFC 9449 §4.2) for tests: the tests
// of middleware/dpop, of the gate, of the example and of the Redis replay
// cache sign proofs with it. It depends on nothing of apiguard's and is for
// tests only: it panics on a key it cannot use.
//
// A proof is built from a signing key, its algorithm, the request's method
// and URI, and options that set, change or remove any member, so that a test
// can make every malformed proof the verifier must refuse:
//
//	p := dpoptest.NewProof(key, "ES256", "GET", "https://api.example/me",
//		dpoptest.AccessToken(tok), dpoptest.IssuedAt(now))
//	req.Header.Set("DPoP", p)
package dpoptest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
	"time"
)

var b64 = base64.RawURLEncoding

// Option changes the proof NewProof builds.
type Option func(*proof)

type member struct{ name, raw string }

type proof struct {
	header, claims []member
}

func set(ms []member, name, raw string) []member {
	for i, m := range ms {
		if m.name == name {
			if raw == "" {
				return append(ms[:i:i], ms[i+1:]...)
			}
			ms[i].raw = raw
			return ms
		}
	}
	if raw == "" {
		return ms
	}
	return append(ms, member{name, raw})
}

// Header sets the header member name to the raw JSON text raw (replacing
// it in place, or adding it at the end); raw "" removes it.
func Header(name, raw string) Option {
	return func(p *proof) { p.header = set(p.header, name, raw) }
}

// Claim sets the claim name to the raw JSON text raw; raw "" removes it.
func Claim(name, raw string) Option {
	return func(p *proof) { p.claims = set(p.claims, name, raw) }
}

// IssuedAt sets iat to t, in whole seconds (the default is time.Now()).
func IssuedAt(t time.Time) Option { return Claim("iat", strconv.FormatInt(t.Unix(), 10)) }

// JTI sets jti (the default is 128 random bits, base64url).
func JTI(jti string) Option { return Claim("jti", quote(jti)) }

// Nonce adds the server's nonce.
func Nonce(nonce string) Option { return Claim("nonce", quote(nonce)) }

// AccessToken adds ath, the hash of token (ATH).
func AccessToken(token string) Option { return Claim("ath", quote(ATH(token))) }

// ATH returns base64url(SHA-256(token)), the ath of a proof sent with token.
func ATH(token string) string {
	sum := sha256.Sum256([]byte(token))
	return b64.EncodeToString(sum[:])
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// NewProof returns a compact DPoP proof signed by key under alg (ES256,
// ES384, ES512, RS256..RS512, PS256..PS512, EdDSA or Ed25519), for a request
// with method htm to URI htu. Its header is {"typ":"dpop+jwt","alg","jwk"}
// with key's public JWK, its claims {"jti","htm","htu","iat"}, each then
// changed by opts in order.
func NewProof(key crypto.Signer, alg, htm, htu string, opts ...Option) string {
	var jti [16]byte
	rand.Read(jti[:])
	p := &proof{
		header: []member{{"typ", `"dpop+jwt"`}, {"alg", quote(alg)}, {"jwk", JWK(key.Public())}},
		claims: []member{
			{"jti", quote(b64.EncodeToString(jti[:]))},
			{"htm", quote(htm)},
			{"htu", quote(htu)},
			{"iat", strconv.FormatInt(time.Now().Unix(), 10)},
		},
	}
	for _, o := range opts {
		o(p)
	}
	return Sign(key, alg, object(p.header), object(p.claims))
}

func object(ms []member) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quote(m.name))
		b.WriteByte(':')
		b.WriteString(m.raw)
	}
	b.WriteByte('}')
	return b.String()
}

// Sign returns the compact JWS of the header and claims JSON texts, signed
// by key under alg.
func Sign(key crypto.Signer, alg, header, claims string) string {
	input := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(claims))
	return input + "." + b64.EncodeToString(signature(key, alg, []byte(input)))
}

func signature(key crypto.Signer, alg string, input []byte) []byte {
	if alg == "EdDSA" || alg == "Ed25519" {
		sig, err := key.Sign(rand.Reader, input, crypto.Hash(0))
		if err != nil {
			panic(err)
		}
		return sig
	}
	var h crypto.Hash
	switch alg[2:] {
	case "256":
		h = crypto.SHA256
	case "384":
		h = crypto.SHA384
	case "512":
		h = crypto.SHA512
	default:
		panic("dpoptest: algorithm " + alg)
	}
	var digest []byte
	switch h {
	case crypto.SHA256:
		s := sha256.Sum256(input)
		digest = s[:]
	case crypto.SHA384:
		s := sha512.Sum384(input)
		digest = s[:]
	default:
		s := sha512.Sum512(input)
		digest = s[:]
	}
	var opts crypto.SignerOpts = h
	if alg[:2] == "PS" {
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}
	}
	sig, err := key.Sign(rand.Reader, digest, opts)
	if err != nil {
		panic(err)
	}
	if alg[:2] != "ES" {
		return sig
	}
	// ECDSA signers return ASN.1; JWS wants r||s, each the curve's size.
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(sig, &rs); err != nil {
		panic(err)
	}
	size := (key.Public().(*ecdsa.PublicKey).Curve.Params().BitSize + 7) / 8
	out := make([]byte, 2*size)
	rs.R.FillBytes(out[:size])
	rs.S.FillBytes(out[size:])
	return out
}

// JWK returns the public JWK of pub (an *ecdsa.PublicKey, *rsa.PublicKey or
// ed25519.PublicKey) as JSON, with the members RFC 7518 requires only.
func JWK(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		point, err := k.Bytes() // 0x04 || x || y, each the curve's size
		if err != nil {
			panic(err)
		}
		size := (len(point) - 1) / 2
		x, y := point[1:1+size], point[1+size:]
		return `{"kty":"EC","crv":"` + k.Curve.Params().Name + `","x":"` + b64.EncodeToString(x) + `","y":"` + b64.EncodeToString(y) + `"}`
	case *rsa.PublicKey:
		return `{"kty":"RSA","n":"` + b64.EncodeToString(k.N.Bytes()) + `","e":"` + b64.EncodeToString(big.NewInt(int64(k.E)).Bytes()) + `"}`
	case ed25519.PublicKey:
		return `{"kty":"OKP","crv":"Ed25519","x":"` + b64.EncodeToString(k) + `"}`
	}
	panic("dpoptest: no JWK for this key type")
}

// Keys are fresh signing keys of each type, one per algorithm family.
type Keys struct {
	P256, P256b, P384, P521 *ecdsa.PrivateKey
	RSA                     *rsa.PrivateKey
	Ed                      ed25519.PrivateKey
}

// NewKeys generates a Keys (a 2048-bit RSA key takes tens of milliseconds:
// generate once per test binary).
func NewKeys() *Keys {
	must := func(k *ecdsa.PrivateKey, err error) *ecdsa.PrivateKey {
		if err != nil {
			panic(err)
		}
		return k
	}
	k := &Keys{
		P256:  must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)),
		P256b: must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)),
		P384:  must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader)),
		P521:  must(ecdsa.GenerateKey(elliptic.P521(), rand.Reader)),
	}
	var err error
	if k.RSA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if _, k.Ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		panic(err)
	}
	return k
}
