package middleware

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"testing"
)

func TestNewKeyRefusesWeakOrMismatched(t *testing.T) {
	k := fixtureKeys(t)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		kid  string
		alg  string
		key  any
	}{
		{"RSA 1024", "a", RS256, &weak.PublicKey},
		{"EC key for RS256", "a", RS256, &k.ec.PublicKey},
		{"P-384 for ES256", "a", ES256, &p384.PublicKey},
		{"RSA for EdDSA", "a", EdDSA, &k.rsa.PublicKey},
		{"short HMAC secret", "a", HS256, []byte("short")},
		{"HMAC without kid", "", HS256, k.hmac},
		{"private key for HS256", "a", HS256, k.rsa},
		{"no alg", "a", "", &k.rsa.PublicKey},
		{"none", "a", "none", &k.rsa.PublicKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewKey(tt.kid, tt.alg, tt.key); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestKeyVerify(t *testing.T) {
	k := fixtureKeys(t)
	input := []byte("header.payload")
	for _, tc := range []struct {
		alg  string
		priv any
		pub  any
	}{
		{RS256, k.rsa, &k.rsa.PublicKey},
		{PS256, k.rsa, &k.rsa.PublicKey},
		{ES256, k.ec, &k.ec.PublicKey},
		{EdDSA, k.ed, k.ed.Public()},
		{HS256, k.hmac, k.hmac},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			key := mustKey(t, "kid", tc.alg, tc.pub)
			sig := signBytes(t, tc.alg, tc.priv, input)
			if err := key.Verify(input, sig); err != nil {
				t.Fatalf("valid signature refused: %v", err)
			}
			if err := key.Verify([]byte("header.payloaD"), sig); !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("other input: %v", err)
			}
			bad := append([]byte(nil), sig...)
			bad[len(bad)/2] ^= 1
			if err := key.Verify(input, bad); !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("flipped bit: %v", err)
			}
			if err := key.Verify(input, sig[:len(sig)-1]); !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("short signature: %v", err)
			}
		})
	}
}

func TestStaticKeysLookup(t *testing.T) {
	k := fixtureKeys(t)
	ks, err := NewStaticKeys(
		mustKey(t, "r1", RS256, &k.rsa.PublicKey),
		mustKey(t, "r2", RS256, &k.rsaOther.PublicKey),
		mustKey(t, "e1", ES256, &k.ec.PublicKey),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		kid, alg string
		want     string
	}{
		{"r1", RS256, "r1"},
		{"r1", HS256, ""}, // kid of another alg
		{"r1", ES256, ""}, // kid of another alg
		{"", ES256, "e1"}, // exactly one ES256 key
		{"", RS256, ""},   // two RS256 keys: ambiguous
		{"zz", RS256, ""}, // unknown
		{"", HS256, ""},   // no key of alg
	}
	for _, tt := range tests {
		key, err := ks.LookupKey(ctx, tt.kid, tt.alg)
		if tt.want == "" {
			if !errors.Is(err, ErrKeyNotFound) {
				t.Errorf("LookupKey(%q, %s) = %v, %v; want ErrKeyNotFound", tt.kid, tt.alg, key, err)
			}
			continue
		}
		if err != nil || key.ID() != tt.want || key.Alg() != tt.alg {
			t.Errorf("LookupKey(%q, %s) = %v, %v", tt.kid, tt.alg, key, err)
		}
	}
	if _, err := NewStaticKeys(mustKey(t, "r1", RS256, &k.rsa.PublicKey), mustKey(t, "r1", ES256, &k.ec.PublicKey)); err == nil {
		t.Fatal("duplicate kid accepted")
	}
}
