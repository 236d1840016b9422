package jose

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/apiguard/apiguard/internal/fastverify"
	"github.com/apiguard/apiguard/internal/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// Algorithms the gate can verify (RFC 7518, RFC 8037, RFC 9864). "none" is not one of
// them and never will be.
const (
	RS256 = "RS256"
	RS384 = "RS384"
	RS512 = "RS512"
	PS256 = "PS256"
	PS384 = "PS384"
	PS512 = "PS512"
	ES256 = "ES256"
	ES384 = "ES384"
	ES512 = "ES512"
	EdDSA = "EdDSA"
	// Ed25519 is the fully-specified name of EdDSA over Ed25519 (RFC 9864,
	// which deprecates "EdDSA" for signing). It needs the same key as EdDSA,
	// but a key bound to one never verifies a token whose header names the
	// other.
	Ed25519 = "Ed25519"
	HS256   = "HS256"
	HS384   = "HS384"
	HS512   = "HS512"
)

// Errors of key construction and lookup.
var (
	// ErrKeyNotFound: no configured key matches the token's kid and alg.
	ErrKeyNotFound = errors.New("apiguard: no matching key")
	// ErrKeysUnavailable: the key source has no usable key at all right now
	// (for example a remote JWKS that could not be fetched); the gate answers
	// 503 with Retry-After.
	ErrKeysUnavailable = errors.New("apiguard: keys unavailable")
	// ErrInvalidSignature: the signature does not verify.
	ErrInvalidSignature = errors.New("apiguard: invalid signature")
)

// MinRSABits is the smallest RSA modulus accepted for any algorithm.
const MinRSABits = 2048

// Key is one verification key bound to exactly one algorithm (RFC 8725 §3.1).
// A Key is immutable and safe for concurrent use.
type Key struct {
	kid    string
	alg    string
	public crypto.PublicKey // *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey; nil for HMAC
	secret []byte           // HMAC only
	hash   crypto.Hash
	esSize int // ES*: bytes of r and of s
	// RS*/PS*: the verifier with the modulus built once; EdDSA/Ed25519: the
	// one with the point decoded once and its table of multiples. Nil where
	// fastverify does not take the key, which crypto/* then verifies (and
	// refuses) as before. ES* keys always use crypto/ecdsa (see fastverify's
	// package doc for why).
	rsaFast *fastverify.RSA
	edFast  *fastverify.Ed25519
}

// NewKey binds a public key (or an HMAC secret as []byte) to alg under kid.
// The key type must fit alg (an RSA key for RS*/PS*, a key on the right curve
// for ES*, Ed25519 for EdDSA, a []byte for HS*), and be strong enough: RSA
// moduli of at least 2048 bits, HMAC secrets at least as long as the hash
// output. A private key is accepted and reduced to its public half (HMAC
// aside). An empty kid is replaced by the key's RFC 7638 thumbprint (SHA-256,
// base64url), except for HMAC keys, which need an explicit kid.
func NewKey(kid, alg string, key any) (*Key, error) {
	k := &Key{kid: kid, alg: alg}
	switch s := key.(type) {
	case crypto.Signer:
		if _, isHMAC := hmacHash(alg); isHMAC {
			return nil, fmt.Errorf("apiguard: key %q: %s needs a []byte secret, got %T", kid, alg, key)
		}
		key = s.Public()
	}
	switch alg {
	case RS256, RS384, RS512, PS256, PS384, PS512:
		pub, ok := key.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("apiguard: key %q: %s needs an RSA key, got %T", kid, alg, key)
		}
		if pub.N.BitLen() < MinRSABits {
			return nil, fmt.Errorf("apiguard: key %q: RSA key of %d bits is too weak (minimum %d)", kid, pub.N.BitLen(), MinRSABits)
		}
		k.public = pub
		k.hash = jwa.Hash(alg)
		newFast := fastverify.NewPKCS1v15
		if alg[0] == 'P' {
			newFast = fastverify.NewPSS
		}
		k.rsaFast, _ = newFast(pub, k.hash) // an error leaves crypto/rsa to decide
	case ES256, ES384, ES512:
		pub, ok := key.(*ecdsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("apiguard: key %q: %s needs an ECDSA key, got %T", kid, alg, key)
		}
		want := map[string]elliptic.Curve{ES256: elliptic.P256(), ES384: elliptic.P384(), ES512: elliptic.P521()}[alg]
		if pub.Curve != want {
			return nil, fmt.Errorf("apiguard: key %q: %s needs curve %s, got %s", kid, alg, want.Params().Name, pub.Curve.Params().Name)
		}
		k.public = pub
		k.hash = jwa.Hash(alg)
		k.esSize = (want.Params().BitSize + 7) / 8
	case EdDSA, Ed25519:
		pub, ok := key.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("apiguard: key %q: %s needs an Ed25519 key, got %T", kid, alg, key)
		}
		if len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("apiguard: key %q: Ed25519 key of %d bytes", kid, len(pub))
		}
		k.public = pub
		k.edFast, _ = fastverify.NewEd25519(pub) // an error leaves crypto/ed25519 to refuse
	case HS256, HS384, HS512:
		secret, ok := key.([]byte)
		if !ok {
			return nil, fmt.Errorf("apiguard: key %q: %s needs a []byte secret, got %T", kid, alg, key)
		}
		h, _ := hmacHash(alg)
		if len(secret) < h.Size() {
			return nil, fmt.Errorf("apiguard: key %q: %s secret of %d bits is too weak (minimum %d)", kid, alg, len(secret)*8, h.Size()*8)
		}
		if kid == "" {
			return nil, fmt.Errorf("apiguard: key: an %s secret needs an explicit kid", alg)
		}
		k.secret = append([]byte(nil), secret...)
		k.hash = h
	case "":
		return nil, fmt.Errorf("apiguard: key %q: no algorithm (one algorithm per key, RFC 8725 §3.1)", kid)
	default:
		return nil, fmt.Errorf("apiguard: key %q: unsupported algorithm %q", kid, alg)
	}
	if k.kid == "" {
		tp, err := Thumbprint(k.public)
		if err != nil {
			return nil, err
		}
		k.kid = tp
	}
	return k, nil
}

// ID returns the key's kid.
func (k *Key) ID() string { return k.kid }

// Alg returns the one algorithm the key verifies.
func (k *Key) Alg() string { return k.alg }

// Public returns the public key (nil for an HMAC key).
func (k *Key) Public() crypto.PublicKey { return k.public }

// Verify checks sig over signingInput (the ASCII "header.payload" of a
// compact JWS) with the key's algorithm. It returns ErrInvalidSignature or nil.
// It hashes on the stack and checks ES* signatures through the constant-time
// ecdsa.VerifyASN1 (the fixed-width r||s of RFC 7518 §3.4 re-encoded as DER),
// so the gate adds little to the bare signature check. RS*, PS* and EdDSA
// signatures go through internal/fastverify, which keeps per key what
// crypto/rsa and crypto/ed25519 recompute on every call and accepts exactly
// what they accept; with the FIPS 140 mode on (GODEBUG=fips140=on) it hands
// every check to them.
func (k *Key) Verify(signingInput, sig []byte) error {
	var ok bool
	switch k.alg {
	case EdDSA, Ed25519:
		if k.edFast != nil {
			ok = k.edFast.Verify(signingInput, sig)
		} else {
			ok = ed25519.Verify(k.public.(ed25519.PublicKey), signingInput, sig)
		}
	case HS256, HS384, HS512:
		mac := hmac.New(k.hash.New, k.secret)
		mac.Write(signingInput)
		ok = subtle.ConstantTimeCompare(mac.Sum(nil), sig) == 1
	case RS256, RS384, RS512:
		ok = k.verifyPKCS1v15(signingInput, sig)
	case PS256, PS384, PS512:
		ok = k.verifyPSS(signingInput, sig)
	case ES256, ES384, ES512:
		ok = k.verifyECDSA(signingInput, sig)
	}
	if ok {
		return nil
	}
	return ErrInvalidSignature
}

// The per-family checks live in functions of their own so that a buffer one
// of them lets escape (rsa.VerifyPSS keeps its digest) does not move the
// others' stack buffers to the heap.

func (k *Key) verifyPKCS1v15(input, sig []byte) bool {
	var dbuf [64]byte
	if k.rsaFast != nil {
		return k.rsaFast.Verify(jwa.Digest(k.hash, input, &dbuf), sig)
	}
	return rsa.VerifyPKCS1v15(k.public.(*rsa.PublicKey), k.hash, jwa.Digest(k.hash, input, &dbuf), sig) == nil
}

func (k *Key) verifyPSS(input, sig []byte) bool {
	if k.rsaFast != nil {
		var dbuf [64]byte
		return k.rsaFast.Verify(jwa.Digest(k.hash, input, &dbuf), sig)
	}
	return k.verifyPSSStd(input, sig)
}

// verifyPSSStd is rsa.VerifyPSS, in a function of its own since its digest
// escapes.
func (k *Key) verifyPSSStd(input, sig []byte) bool {
	var dbuf [64]byte
	opts := rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: k.hash}
	return rsa.VerifyPSS(k.public.(*rsa.PublicKey), k.hash, jwa.Digest(k.hash, input, &dbuf), sig, &opts) == nil
}

func (k *Key) verifyECDSA(input, sig []byte) bool {
	if len(sig) != 2*k.esSize {
		return false
	}
	var dbuf [64]byte
	var der [8 + 2*(4+66)]byte
	return ecdsa.VerifyASN1(k.public.(*ecdsa.PublicKey), jwa.Digest(k.hash, input, &dbuf),
		appendECDSADER(der[:0], sig[:k.esSize], sig[k.esSize:]))
}

// hmacHash returns the hash of an HS* algorithm, and false for any other.
func hmacHash(alg string) (crypto.Hash, bool) {
	switch alg {
	case HS256, HS384, HS512:
		return jwa.Hash(alg), true
	}
	return 0, false
}

// Thumbprint returns the RFC 7638 JWK thumbprint (SHA-256, base64url without
// padding) of a public key.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	jk, err := jwk.Import(pub)
	if err != nil {
		return "", fmt.Errorf("apiguard: thumbprint: %w", err)
	}
	tp, err := jk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("apiguard: thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// DefaultAlg returns the algorithm apiguard uses for a key type when none is
// given: RS256 for RSA, ES256/384/512 by curve, EdDSA for Ed25519.
func DefaultAlg(key any) (string, error) {
	if s, ok := key.(crypto.Signer); ok {
		key = s.Public()
	}
	switch pub := key.(type) {
	case *rsa.PublicKey:
		return RS256, nil
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			return ES256, nil
		case elliptic.P384():
			return ES384, nil
		case elliptic.P521():
			return ES512, nil
		}
	case ed25519.PublicKey:
		return EdDSA, nil
	}
	return "", fmt.Errorf("apiguard: no default algorithm for %T", key)
}

// ParsePEM reads every public key, certificate or PKCS#8 private key in a PEM
// bundle and binds each to alg ("" picks DefaultAlg per key), with its
// thumbprint as kid. Private keys are reduced to their public half.
func ParsePEM(data []byte, alg string) ([]*Key, error) {
	var keys []*Key
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		var raw any
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			raw, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "PRIVATE KEY":
			raw, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			cert, err = x509.ParseCertificate(block.Bytes)
			if err == nil {
				raw = cert.PublicKey
			}
		default:
			return nil, fmt.Errorf("apiguard: PEM block %q is not supported (want PUBLIC KEY, PRIVATE KEY (PKCS#8) or CERTIFICATE)", block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("apiguard: PEM block %q: %w", block.Type, err)
		}
		a := alg
		if a == "" {
			if a, err = DefaultAlg(raw); err != nil {
				return nil, err
			}
		}
		k, err := NewKey("", a, raw)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("apiguard: no PEM key found")
	}
	return keys, nil
}

// KeySource resolves the key that must verify a token, from the token
// header's kid and alg. Implementations are safe for concurrent use.
//
// LookupKey returns ErrKeyNotFound when no key matches, and ErrKeysUnavailable
// when the source has no usable key at all (the gate answers 503). With an
// empty kid it returns a key only when exactly one key of the source has alg.
// It must never follow a URL taken from a token.
type KeySource interface {
	LookupKey(ctx context.Context, kid, alg string) (*Key, error)
}

// StaticKeys is a fixed KeySource. Its zero value has no keys.
type StaticKeys struct {
	byID  map[string]*Key
	byAlg map[string][]*Key
}

// NewStaticKeys returns a KeySource over keys; kids must be unique.
func NewStaticKeys(keys ...*Key) (*StaticKeys, error) {
	s := &StaticKeys{byID: make(map[string]*Key, len(keys)), byAlg: make(map[string][]*Key)}
	for _, k := range keys {
		if k == nil {
			return nil, errors.New("apiguard: NewStaticKeys: nil key")
		}
		if _, dup := s.byID[k.kid]; dup {
			return nil, fmt.Errorf("apiguard: NewStaticKeys: duplicate kid %q", k.kid)
		}
		s.byID[k.kid] = k
		s.byAlg[k.alg] = append(s.byAlg[k.alg], k)
	}
	return s, nil
}

// LookupKey implements KeySource.
func (s *StaticKeys) LookupKey(_ context.Context, kid, alg string) (*Key, error) {
	return lookup(s.byID, s.byAlg, kid, alg)
}

// Keys returns the keys of s.
func (s *StaticKeys) Keys() []*Key {
	out := make([]*Key, 0, len(s.byID))
	for _, ks := range s.byAlg {
		out = append(out, ks...)
	}
	return out
}

// lookup is the one matching rule of every KeySource: by kid, with the key's
// alg equal to the header's; without kid, only when exactly one key has alg.
func lookup(byID map[string]*Key, byAlg map[string][]*Key, kid, alg string) (*Key, error) {
	if kid != "" {
		k, ok := byID[kid]
		if !ok || k.alg != alg {
			return nil, ErrKeyNotFound
		}
		return k, nil
	}
	if ks := byAlg[alg]; len(ks) == 1 {
		return ks[0], nil
	}
	return nil, ErrKeyNotFound
}

// appendECDSADER appends the DER SEQUENCE { INTEGER r, INTEGER s } of two
// unsigned big-endian integers.
func appendECDSADER(b, r, s []byte) []byte {
	n := derIntLen(r) + derIntLen(s)
	if n < 0x80 {
		b = append(b, 0x30, byte(n))
	} else {
		b = append(b, 0x30, 0x81, byte(n))
	}
	return appendDERInt(appendDERInt(b, r), s)
}

func trimZeros(x []byte) []byte {
	for len(x) > 0 && x[0] == 0 {
		x = x[1:]
	}
	return x
}

func derIntLen(x []byte) int {
	x = trimZeros(x)
	switch {
	case len(x) == 0:
		return 3
	case x[0] >= 0x80:
		return 3 + len(x)
	}
	return 2 + len(x)
}

func appendDERInt(b, x []byte) []byte {
	x = trimZeros(x)
	switch {
	case len(x) == 0:
		return append(b, 0x02, 0x01, 0x00)
	case x[0] >= 0x80:
		b = append(b, 0x02, byte(len(x)+1), 0x00)
	default:
		b = append(b, 0x02, byte(len(x)))
	}
	return append(b, x...)
}
