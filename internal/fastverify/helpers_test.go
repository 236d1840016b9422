package fastverify

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"math/big"
	"sync"
	"testing"
)

var (
	keysMu sync.Mutex
	keys   = map[[2]int]*rsa.PrivateKey{}
)

// testRSAKey returns an RSA key of bits with public exponent e (65537, or 3
// for a key crypto/rsa's GenerateKey never makes but accepts), generated
// once per test binary.
func testRSAKey(tb testing.TB, bits, e int) *rsa.PrivateKey {
	tb.Helper()
	keysMu.Lock()
	defer keysMu.Unlock()
	if k, ok := keys[[2]int{bits, e}]; ok {
		return k
	}
	var k *rsa.PrivateKey
	var err error
	if e == 65537 {
		k, err = rsa.GenerateKey(rand.Reader, bits)
	} else {
		k, err = generateSmallE(bits, e)
	}
	if err != nil {
		tb.Fatal(err)
	}
	keys[[2]int{bits, e}] = k
	return k
}

// generateSmallE makes an RSA key with a small public exponent e from two
// primes p, q with gcd(e, p-1) = gcd(e, q-1) = 1.
func generateSmallE(bits, e int) (*rsa.PrivateKey, error) {
	E := big.NewInt(int64(e))
	one := big.NewInt(1)
	for range 1000 {
		p, err := rand.Prime(rand.Reader, bits/2)
		if err != nil {
			return nil, err
		}
		q, err := rand.Prime(rand.Reader, bits-bits/2)
		if err != nil {
			return nil, err
		}
		n := new(big.Int).Mul(p, q)
		if p.Cmp(q) == 0 || n.BitLen() != bits {
			continue
		}
		pm, qm := new(big.Int).Sub(p, one), new(big.Int).Sub(q, one)
		phi := new(big.Int).Mul(pm, qm)
		d := new(big.Int).ModInverse(E, phi)
		if d == nil {
			continue
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: e}, D: d, Primes: []*big.Int{p, q}}
		if err := k.Validate(); err != nil {
			return nil, err
		}
		k.Precompute()
		return k, nil
	}
	return nil, fmt.Errorf("no %d-bit key with e=%d", bits, e)
}

// rawSign returns em^d mod n as k octets: a "signature" of any encoded
// message, for the tests that build malformed encodings.
func rawSign(k *rsa.PrivateKey, em []byte) []byte {
	m := new(big.Int).SetBytes(em)
	s := new(big.Int).Exp(m, k.D, k.N)
	return s.FillBytes(make([]byte, k.Size()))
}

// pkcs1v15EM returns the RSASSA-PKCS1-v1_5 encoding of digest (RFC 8017
// §9.2) in k octets.
func pkcs1v15EM(h crypto.Hash, digest []byte, k int) []byte {
	t := append(append([]byte(nil), digestInfoPrefix[h]...), digest...)
	em := make([]byte, k)
	em[1] = 1
	for i := 2; i < k-len(t)-1; i++ {
		em[i] = 0xff
	}
	copy(em[k-len(t):], t)
	return em
}

// pssEM returns the EMSA-PSS encoding (RFC 8017 §9.1.1) of mHash with salt,
// for a modulus of modBits, in k octets (a leading zero octet when modBits-1
// is a multiple of 8), MGF1 with h.
func pssEM(h crypto.Hash, mHash, salt []byte, modBits int) []byte {
	emBits := modBits - 1
	emLen := (emBits + 7) / 8
	hLen := h.Size()
	hh := h.New()
	hh.Write(make([]byte, 8))
	hh.Write(mHash)
	hh.Write(salt)
	H := hh.Sum(nil)
	db := make([]byte, emLen-hLen-1)
	db[len(db)-len(salt)-1] = 0x01
	copy(db[len(db)-len(salt):], salt)
	mgf1XOR(db, h, H)
	db[0] &= byte(0xff >> (8*emLen - emBits))
	em := append(append(db, H...), 0xbc)
	k := (modBits + 7) / 8
	return append(make([]byte, k-emLen), em...)
}

// stdVerifier returns crypto/rsa's verify for the scheme of v.
func stdVerifier(pub *rsa.PublicKey, h crypto.Hash, pss bool) func(digest, sig []byte) bool {
	if pss {
		opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}
		return func(d, sig []byte) bool { return rsa.VerifyPSS(pub, h, d, sig, opts) == nil }
	}
	return func(d, sig []byte) bool { return rsa.VerifyPKCS1v15(pub, h, d, sig) == nil }
}

// newRSAVerifier returns NewPSS or NewPKCS1v15 of pub and h.
func newRSAVerifier(tb testing.TB, pub *rsa.PublicKey, h crypto.Hash, pss bool) *RSA {
	tb.Helper()
	newV := NewPKCS1v15
	if pss {
		newV = NewPSS
	}
	v, err := newV(pub, h)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}
