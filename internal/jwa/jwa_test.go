package jwa

import (
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"testing"
)

func TestHash(t *testing.T) {
	for _, tt := range []struct {
		alg  string
		want crypto.Hash
	}{
		{"RS256", crypto.SHA256}, {"PS384", crypto.SHA384}, {"ES512", crypto.SHA512}, {"HS256", crypto.SHA256},
		{"EdDSA", 0}, {"none", 0}, {"XS256", 0}, {"RS255", 0}, {"", 0},
	} {
		t.Run(tt.alg, func(t *testing.T) {
			if got := Hash(tt.alg); got != tt.want {
				t.Fatalf("Hash(%q) = %v, want %v", tt.alg, got, tt.want)
			}
		})
	}
}

func TestDigest(t *testing.T) {
	in := []byte("header.payload")
	s256, s384, s512 := sha256.Sum256(in), sha512.Sum384(in), sha512.Sum512(in)
	for _, tt := range []struct {
		h    crypto.Hash
		want []byte
	}{{crypto.SHA256, s256[:]}, {crypto.SHA384, s384[:]}, {crypto.SHA512, s512[:]}} {
		t.Run(tt.h.String(), func(t *testing.T) {
			var buf [64]byte
			if got := Digest(tt.h, in, &buf); string(got) != string(tt.want) {
				t.Fatalf("Digest = %x, want %x", got, tt.want)
			}
		})
	}
}
