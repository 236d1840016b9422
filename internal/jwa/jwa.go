// Package jwa holds the parts of the JWS algorithms (RFC 7518, RFC 8037)
// that both the verifying side (middleware/jose) and the signing side
// (middleware/token) need: the hash of each algorithm and hashing into a
// caller's buffer.
package jwa

import (
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
)

// Hash returns the hash of an RS*, PS*, ES* or HS* algorithm name (SHA-256,
// -384 or -512 by its last three digits), and 0 for EdDSA and anything else.
func Hash(alg string) crypto.Hash {
	if len(alg) != 5 {
		return 0
	}
	switch alg[:2] {
	case "RS", "PS", "ES", "HS":
	default:
		return 0
	}
	switch alg[2:] {
	case "256":
		return crypto.SHA256
	case "384":
		return crypto.SHA384
	case "512":
		return crypto.SHA512
	}
	return 0
}

// Digest hashes input with h (SHA-256, -384 or -512; anything else is
// SHA-256) into buf, so that the digest stays on the caller's stack.
func Digest(h crypto.Hash, input []byte, buf *[64]byte) []byte {
	switch h {
	case crypto.SHA384:
		s := sha512.Sum384(input)
		return buf[:copy(buf[:], s[:])]
	case crypto.SHA512:
		s := sha512.Sum512(input)
		return buf[:copy(buf[:], s[:])]
	}
	s := sha256.Sum256(input)
	return buf[:copy(buf[:], s[:])]
}
