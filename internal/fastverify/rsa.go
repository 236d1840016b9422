package fastverify

import (
	"crypto"
	"crypto/rsa"
	"crypto/subtle"
	"errors"
	"fmt"

	"filippo.io/bigmod"
	"github.com/apiguard/apiguard/internal/jwa"
)

// digestInfoPrefix is the DER DigestInfo before the digest (RFC 8017 §9.2
// note 1), the same bytes crypto/internal/fips140/rsa uses.
var digestInfoPrefix = map[crypto.Hash][]byte{
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

// ErrUnsupportedKey is returned (wrapped) by the constructors for a key or
// hash that crypto/* would not verify with on its ordinary path, or that
// this package does not cover; the caller keeps crypto/* for such a key,
// which then decides (and refuses) exactly as before.
var ErrUnsupportedKey = errors.New("fastverify: key not supported")

// RSA verifies RSASSA-PKCS1-v1_5 or RSASSA-PSS signatures (RFC 8017 §8.2.2,
// §8.1.2) under one RSA public key and one hash, with the modulus built
// once. It is immutable and safe for concurrent use.
type RSA struct {
	pub    *rsa.PublicKey // for the crypto/rsa path (FIPS 140 mode)
	n      *bigmod.Modulus
	e      uint
	size   int // k, the modulus length in bytes
	hash   crypto.Hash
	pss    bool
	emBits int    // PSS: modBits - 1
	em     []byte // PKCS #1 v1.5: the expected EM up to the digest, 0x00 01 FF…FF 00 DigestInfo-prefix
}

// NewPKCS1v15 returns the RSASSA-PKCS1-v1_5 verifier of pub with h (SHA-256,
// SHA-384 or SHA-512), the check of rsa.VerifyPKCS1v15(pub, h, ...).
func NewPKCS1v15(pub *rsa.PublicKey, h crypto.Hash) (*RSA, error) {
	v, err := newRSA(pub, h)
	if err != nil {
		return nil, err
	}
	prefix := digestInfoPrefix[h]
	// crypto/rsa refuses every signature when k < len(T) + 11 (RFC 8017 §9.2
	// step 3); so does crypto/rsa on the fallback.
	if v.size < len(prefix)+h.Size()+11 {
		return nil, fmt.Errorf("%w: %d-byte modulus too short for %s", ErrUnsupportedKey, v.size, h)
	}
	em := make([]byte, v.size-h.Size())
	em[1] = 1
	for i := 2; i < len(em)-len(prefix)-1; i++ {
		em[i] = 0xff
	}
	copy(em[len(em)-len(prefix):], prefix)
	v.em = em
	return v, nil
}

// NewPSS returns the RSASSA-PSS verifier of pub with h (SHA-256, SHA-384 or
// SHA-512) as hash and MGF1 hash and a salt as long as the hash (RFC 7518
// §3.5), the check of rsa.VerifyPSS(pub, h, ..., &rsa.PSSOptions{SaltLength:
// rsa.PSSSaltLengthEqualsHash}).
func NewPSS(pub *rsa.PublicKey, h crypto.Hash) (*RSA, error) {
	v, err := newRSA(pub, h)
	if err != nil {
		return nil, err
	}
	v.pss = true
	v.emBits = v.n.BitLen() - 1
	return v, nil
}

// newRSA applies the key rules of crypto/rsa (checkPublicKeySize and
// crypto/internal/fips140/rsa's checkPublicKey): a key they refuse is
// refused here, so that the caller keeps crypto/rsa for it. Keys under 1024
// bits are refused too, whatever GODEBUG=rsa1024min says (crypto/rsa then
// applies it).
func newRSA(pub *rsa.PublicKey, h crypto.Hash) (*RSA, error) {
	if _, ok := digestInfoPrefix[h]; !ok {
		return nil, fmt.Errorf("%w: hash %s", ErrUnsupportedKey, h)
	}
	switch {
	case pub == nil || pub.N == nil:
		return nil, fmt.Errorf("%w: missing modulus", ErrUnsupportedKey)
	case pub.N.Sign() <= 0 || pub.N.Bit(0) == 0:
		return nil, fmt.Errorf("%w: modulus not positive and odd", ErrUnsupportedKey)
	case pub.N.BitLen() < 1024:
		return nil, fmt.Errorf("%w: %d-bit modulus", ErrUnsupportedKey, pub.N.BitLen())
	case pub.E < 2 || pub.E&1 == 0 || pub.E > 1<<31-1:
		return nil, fmt.Errorf("%w: public exponent %d", ErrUnsupportedKey, pub.E)
	}
	n, err := bigmod.NewModulus(pub.N.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	cp := &rsa.PublicKey{N: pub.N, E: pub.E}
	return &RSA{pub: cp, n: n, e: uint(pub.E), size: n.Size(), hash: h}, nil
}

// Verify reports whether sig is a valid signature of digest (the hash of
// the message with the verifier's hash): true exactly when crypto/rsa's
// VerifyPKCS1v15 or VerifyPSS (salt length = hash length) returns nil.
func (v *RSA) Verify(digest, sig []byte) bool {
	if !fast() {
		// A copy, so that digest does not escape on the fast path.
		d := append([]byte(nil), digest...)
		if v.pss {
			return rsa.VerifyPSS(v.pub, v.hash, d, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
		return rsa.VerifyPKCS1v15(v.pub, v.hash, d, sig) == nil
	}
	// RFC 8017 §8.2.2 step 1 and §8.1.2 step 1: the signature is k octets.
	if len(sig) != v.size || len(digest) != v.hash.Size() {
		return false
	}
	// RSAVP1: s < n, then m = s^e mod n, as k octets.
	s, err := bigmod.NewNat().SetBytes(sig, v.n)
	if err != nil {
		return false
	}
	em := bigmod.NewNat().ExpShortVarTime(s, v.e, v.n).Bytes(v.n)
	if v.pss {
		return v.verifyPSS(digest, em)
	}
	return v.verifyPKCS1v15(digest, em)
}

// verifyPKCS1v15 compares the whole encoded message with the expected one
// (RFC 8017 §8.2.2 steps 3 and 4): no parsing of the padding or of the
// DigestInfo, so no lenient parse can be fooled.
func (v *RSA) verifyPKCS1v15(digest, em []byte) bool {
	var buf [1024]byte // 8192-bit moduli on the stack
	var want []byte
	if v.size <= len(buf) {
		want = buf[:v.size]
	} else {
		want = make([]byte, v.size)
	}
	copy(want, v.em)
	copy(want[len(v.em):], digest)
	return subtle.ConstantTimeCompare(em, want) == 1
}

// verifyPSS is EMSA-PSS-VERIFY (RFC 8017 §9.1.2) with sLen = hLen, step for
// step as crypto/internal/fips140/rsa does it.
func (v *RSA) verifyPSS(mHash, em []byte) bool {
	hLen, sLen := v.hash.Size(), v.hash.Size()
	emBits := v.emBits
	emLen := (emBits + 7) / 8
	// The encoding is k octets; EM is its last emLen (they differ when
	// modBits - 1 is a multiple of 8), and the octets before it must be 0.
	for len(em) > emLen {
		if em[0] != 0 {
			return false
		}
		em = em[1:]
	}
	// Step 3.
	if emLen < hLen+sLen+2 {
		return false
	}
	// Step 4.
	if em[emLen-1] != 0xbc {
		return false
	}
	// Step 5.
	db := em[:emLen-hLen-1]
	h := em[emLen-hLen-1 : emLen-1]
	// Step 6.
	bitMask := byte(0xff >> (8*emLen - emBits))
	if em[0]&^bitMask != 0 {
		return false
	}
	// Steps 7 and 8.
	mgf1XOR(db, v.hash, h)
	// Step 9.
	db[0] &= bitMask
	// Step 10.
	psLen := emLen - hLen - sLen - 2
	for _, b := range db[:psLen] {
		if b != 0 {
			return false
		}
	}
	if db[psLen] != 0x01 {
		return false
	}
	// Steps 11 to 14: H = Hash(0x00 × 8 || mHash || salt).
	salt := db[len(db)-sLen:]
	var mp [8 + 2*64]byte
	n := 8 + copy(mp[8:], mHash)
	n += copy(mp[n:], salt)
	var hbuf [64]byte
	return subtle.ConstantTimeCompare(jwa.Digest(v.hash, mp[:n], &hbuf), h) == 1
}

// mgf1XOR XORs out with MGF1(seed, len(out)) over h (RFC 8017 §B.2.1).
func mgf1XOR(out []byte, h crypto.Hash, seed []byte) {
	var in [64 + 4]byte
	n := copy(in[:], seed)
	var counter uint32
	var dbuf [64]byte
	for done := 0; done < len(out); counter++ {
		in[n], in[n+1], in[n+2], in[n+3] = byte(counter>>24), byte(counter>>16), byte(counter>>8), byte(counter)
		d := jwa.Digest(h, in[:n+4], &dbuf)
		done += subtle.XORBytes(out[done:], out[done:], d)
	}
}
