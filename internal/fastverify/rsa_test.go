package fastverify

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"math/big"
	"testing"

	"github.com/apiguard/apiguard/internal/jwa"
)

var rsaHashes = []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}

// rsaCase is one check: digest and sig through both verifiers.
type rsaDiff struct {
	t     *testing.T
	fast  *RSA
	std   func(digest, sig []byte) bool
	n     int // checks run
	accts int // of which accepted
}

// check fails the test when the two verifiers disagree on (digest, sig), and
// when want is given and the result differs from it.
func (c *rsaDiff) check(name string, digest, sig []byte, want ...bool) {
	c.t.Helper()
	got, std := c.fast.Verify(digest, sig), c.std(digest, sig)
	c.n++
	if got {
		c.accts++
	}
	if got != std {
		c.t.Errorf("%s: fastverify %v, crypto/rsa %v", name, got, std)
	}
	if len(want) > 0 && std != want[0] {
		c.t.Errorf("%s: crypto/rsa %v, want %v", name, std, want[0])
	}
}

// TestRSADifferential checks that RSA.Verify accepts and refuses exactly
// what crypto/rsa does, for PKCS #1 v1.5 and PSS, SHA-256/384/512, moduli of
// 2048, 2049 (EM one octet shorter than the modulus), 3072 and 4096 bits, e =
// 65537 and e = 3: valid signatures, every single-bit flip of the signature
// and of the digest, truncations and extensions, another hash's signature,
// s = 0, 1, n-1, n, n+1 and all ones, and encoded messages built wrong one
// rule at a time (signed with the raw private key operation).
func TestRSADifferential(t *testing.T) {
	type keyCase struct{ bits, e int }
	kcs := []keyCase{{2048, 65537}, {2048, 3}, {2049, 65537}, {3072, 65537}, {4096, 65537}}
	if !raceEnabled && !testing.Short() {
		// Generating these under the race detector takes minutes.
		kcs = append(kcs, keyCase{3072, 3}, keyCase{4096, 3})
	}
	for _, kc := range kcs {
		for _, pss := range []bool{false, true} {
			for _, h := range rsaHashes {
				scheme := "PKCS1v15"
				if pss {
					scheme = "PSS"
				}
				name := fmt.Sprintf("%d-e%d/%s/%s", kc.bits, kc.e, scheme, h)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					priv := testRSAKey(t, kc.bits, kc.e)
					rsaDifferential(t, priv, h, pss)
				})
			}
		}
	}
}

func rsaDifferential(t *testing.T, priv *rsa.PrivateKey, h crypto.Hash, pss bool) {
	pub := &priv.PublicKey
	c := &rsaDiff{t: t, fast: newRSAVerifier(t, pub, h, pss), std: stdVerifier(pub, h, pss)}
	var dbuf [64]byte
	digest := append([]byte(nil), jwa.Digest(h, []byte("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0"), &dbuf)...)
	var sig []byte
	var err error
	if pss {
		sig, err = rsa.SignPSS(rand.Reader, priv, h, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	} else {
		sig, err = rsa.SignPKCS1v15(nil, priv, h, digest)
	}
	if err != nil {
		t.Fatal(err)
	}
	k := priv.Size()
	c.check("valid", digest, sig, true)

	// Every single-bit flip of the signature: for every hash at 2048 and 2049
	// bits, for SHA-256 above (the exponentiation does not depend on the
	// hash), every 7th bit otherwise and under -short, every 61st under -race.
	step := 1
	switch {
	case raceEnabled:
		step = 61
	case testing.Short() || (k > 257 && h != crypto.SHA256):
		step = 7
	}
	for i := 0; i < 8*k; i += step {
		s := append([]byte(nil), sig...)
		s[i/8] ^= 1 << (i % 8)
		c.check(fmt.Sprintf("sig bit %d", i), digest, s, false)
	}
	// Every single-bit flip of the digest.
	for i := 0; i < 8*len(digest); i++ {
		d := append([]byte(nil), digest...)
		d[i/8] ^= 1 << (i % 8)
		c.check(fmt.Sprintf("digest bit %d", i), d, sig, false)
	}
	// Truncations and extensions of the signature and of the digest.
	c.check("sig minus last octet", digest, sig[:k-1], false)
	c.check("sig minus first octet", digest, sig[1:], false)
	c.check("sig plus trailing zero", digest, append(append([]byte(nil), sig...), 0), false)
	c.check("sig plus leading zero", digest, append([]byte{0}, sig...), false)
	c.check("empty sig", digest, nil, false)
	c.check("digest minus last octet", digest[:len(digest)-1], sig, false)
	c.check("digest plus octet", append(append([]byte(nil), digest...), 0), sig, false)
	c.check("empty digest", nil, sig, false)
	// Another hash's signature of the same message, and its digest.
	for _, h2 := range rsaHashes {
		if h2 == h {
			continue
		}
		d2 := append([]byte(nil), jwa.Digest(h2, []byte("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0"), &dbuf)...)
		var s2 []byte
		if pss {
			s2, err = rsa.SignPSS(rand.Reader, priv, h2, d2, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			s2, err = rsa.SignPKCS1v15(nil, priv, h2, d2)
		}
		if err != nil {
			t.Fatal(err)
		}
		c.check("signature with "+h2.String(), digest, s2, false)
		c.check("signature and digest with "+h2.String(), d2, s2, false)
	}
	// Edge values of s.
	one := big.NewInt(1)
	for name, s := range map[string]*big.Int{
		"s = 0": new(big.Int), "s = 1": one, "s = n-1": new(big.Int).Sub(pub.N, one),
		"s = n": pub.N, "s = n+1": new(big.Int).Add(pub.N, one),
		"s = all ones": new(big.Int).Sub(new(big.Int).Lsh(one, uint(8*k)), one),
	} {
		c.check(name, digest, s.FillBytes(make([]byte, k)), false)
	}
	// s + n: the same residue, not the same signature (when it fits in k octets).
	if sn := new(big.Int).Add(new(big.Int).SetBytes(sig), pub.N); sn.BitLen() <= 8*k {
		c.check("s + n", digest, sn.FillBytes(make([]byte, k)), false)
	}

	// Encoded messages built wrong one rule at a time.
	for name, em := range badEMs(h, digest, pub.N.BitLen(), pss) {
		if new(big.Int).SetBytes(em).Cmp(pub.N) >= 0 {
			continue // not a residue: no signature maps to it
		}
		want := name == "well formed"
		c.check("EM "+name, digest, rawSign(priv, em), want)
	}
	t.Logf("%d checks, %d accepted", c.n, c.accts)
}

// badEMs returns encoded messages of digest, each breaking one rule of the
// encoding ("well formed" breaks none).
func badEMs(h crypto.Hash, digest []byte, modBits int, pss bool) map[string][]byte {
	k := (modBits + 7) / 8
	hLen := h.Size()
	ems := map[string][]byte{}
	mut := func(name string, em []byte, f func(em []byte)) {
		em = append([]byte(nil), em...)
		f(em)
		ems[name] = em
	}
	if !pss {
		good := pkcs1v15EM(h, digest, k)
		prefix := digestInfoPrefix[h]
		tStart := k - len(prefix) - hLen
		ems["well formed"] = good
		mut("first octet 01", good, func(em []byte) { em[0] = 1 })
		mut("block type 02", good, func(em []byte) { em[1] = 2 })
		mut("block type 00", good, func(em []byte) { em[1] = 0 })
		mut("first PS octet fe", good, func(em []byte) { em[2] = 0xfe })
		mut("middle PS octet 00", good, func(em []byte) { em[tStart/2] = 0 })
		mut("last PS octet fe", good, func(em []byte) { em[tStart-2] = 0xfe })
		mut("separator ff", good, func(em []byte) { em[tStart-1] = 0xff })
		mut("separator 01", good, func(em []byte) { em[tStart-1] = 1 })
		mut("hash OID of another hash", good, func(em []byte) { em[tStart+14]++ })
		mut("DigestInfo length", good, func(em []byte) { em[tStart+1]++ })
		mut("digest length", good, func(em []byte) { em[tStart+len(prefix)-1]-- })
		mut("NULL parameters 05 01", good, func(em []byte) { em[tStart+16] = 1 })
		mut("last digest octet", good, func(em []byte) { em[k-1] ^= 1 })
		// DigestInfo without the NULL parameters, PS one octet... two longer.
		mut("no NULL parameters", good, func(em []byte) {
			t := append([]byte{prefix[0], prefix[1] - 2, prefix[2], prefix[3] - 2}, prefix[4:15]...)
			t = append(append(t, 0x04, byte(hLen)), digest...)
			for i := 2; i < k-len(t)-1; i++ {
				em[i] = 0xff
			}
			em[k-len(t)-1] = 0
			copy(em[k-len(t):], t)
		})
		// Bleichenbacher 2006: a short PS and garbage after the digest.
		mut("short PS, garbage after digest", good, func(em []byte) {
			t := append(append([]byte(nil), prefix...), digest...)
			for i := 2; i < 10; i++ {
				em[i] = 0xff
			}
			em[10] = 0
			copy(em[11:], t)
			for i := 11 + len(t); i < k; i++ {
				em[i] = 0x42
			}
		})
		return ems
	}
	salt := make([]byte, hLen)
	rand.Read(salt)
	good := pssEM(h, digest, salt, modBits)
	emBits := modBits - 1
	emLen := (emBits + 7) / 8
	off := k - emLen // a leading zero octet when emBits is a multiple of 8
	ems["well formed"] = good
	for _, sLen := range []int{0, 1, hLen - 1, hLen + 1, 2 * hLen} {
		ems[fmt.Sprintf("salt of %d octets", sLen)] = pssEM(h, digest, salt[:min(sLen, hLen)], modBits)
		if sLen > hLen {
			long := make([]byte, sLen)
			rand.Read(long)
			ems[fmt.Sprintf("salt of %d octets", sLen)] = pssEM(h, digest, long, modBits)
		}
	}
	mut("trailer bb", good, func(em []byte) { em[k-1] = 0xbb })
	mut("trailer 00", good, func(em []byte) { em[k-1] = 0 })
	mut("H changed", good, func(em []byte) { em[k-2] ^= 1 })
	mut("maskedDB first octet", good, func(em []byte) { em[off] ^= 1 })
	if bits := 8*emLen - emBits; bits > 0 {
		mut("top bit of maskedDB set", good, func(em []byte) { em[off] |= 0x80 })
	}
	if off > 0 {
		mut("leading octet nonzero", good, func(em []byte) { em[0] = 1 })
	}
	// DB = PS || 01 || salt broken under the mask: rebuild with the mask.
	rebuild := func(name string, f func(db []byte)) {
		em := append([]byte(nil), good...)
		db := em[off : off+emLen-hLen-1]
		hh := em[off+emLen-hLen-1 : off+emLen-1]
		mgf1XOR(db, h, hh)
		f(db)
		mgf1XOR(db, h, hh)
		ems[name] = em
	}
	rebuild("PS octet nonzero", func(db []byte) { db[1] = 1 })
	rebuild("separator 02", func(db []byte) { db[len(db)-hLen-1] = 2 })
	rebuild("separator 00", func(db []byte) { db[len(db)-hLen-1] = 0 })
	rebuild("salt changed", func(db []byte) { db[len(db)-1] ^= 1 })
	return ems
}

// TestRSAKeyRules checks that the constructors refuse exactly the keys and
// hashes for which crypto/rsa refuses every signature (the caller then keeps
// crypto/rsa), and accept the odd, small and large exponents it accepts.
func TestRSAKeyRules(t *testing.T) {
	priv := testRSAKey(t, 2048, 65537)
	n := priv.N
	var dbuf [64]byte
	digest := jwa.Digest(crypto.SHA256, []byte("x"), &dbuf)
	for _, tt := range []struct {
		name string
		pub  *rsa.PublicKey
		h    crypto.Hash
		ok   bool
	}{
		{"e=65537", &rsa.PublicKey{N: n, E: 65537}, crypto.SHA256, true},
		{"e=3", &rsa.PublicKey{N: n, E: 3}, crypto.SHA256, true},
		{"e=2^31-1", &rsa.PublicKey{N: n, E: 1<<31 - 1}, crypto.SHA256, true},
		{"e=1", &rsa.PublicKey{N: n, E: 1}, crypto.SHA256, false},
		{"e=0", &rsa.PublicKey{N: n, E: 0}, crypto.SHA256, false},
		{"e=-3", &rsa.PublicKey{N: n, E: -3}, crypto.SHA256, false},
		{"e even", &rsa.PublicKey{N: n, E: 65538}, crypto.SHA256, false},
		{"e=2^31+1", &rsa.PublicKey{N: n, E: 1<<31 + 1}, crypto.SHA256, false},
		{"n even", &rsa.PublicKey{N: new(big.Int).Add(n, big.NewInt(1)), E: 65537}, crypto.SHA256, false},
		{"n nil", &rsa.PublicKey{E: 65537}, crypto.SHA256, false},
		{"n negative", &rsa.PublicKey{N: new(big.Int).Neg(n), E: 65537}, crypto.SHA256, false},
		{"n of 1023 bits", &rsa.PublicKey{N: new(big.Int).Rsh(n, 1025), E: 65537}, crypto.SHA256, false},
		{"SHA-1", &rsa.PublicKey{N: n, E: 65537}, crypto.SHA1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, newV := range []func(*rsa.PublicKey, crypto.Hash) (*RSA, error){NewPKCS1v15, NewPSS} {
				v, err := newV(tt.pub, tt.h)
				if (err == nil) != tt.ok {
					t.Fatalf("err = %v, want ok %v", err, tt.ok)
				}
				if err != nil {
					continue
				}
				// Built keys agree with crypto/rsa on a signature (here always
				// refused, since the key is not priv's or the exponent differs).
				sig, _ := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, digest)
				if got, std := v.Verify(digest, sig), rsa.VerifyPKCS1v15(tt.pub, tt.h, digest, sig) == nil; got != std && !v.pss {
					t.Errorf("fastverify %v, crypto/rsa %v", got, std)
				}
			}
		})
	}
	if _, err := NewPKCS1v15(nil, crypto.SHA256); err == nil {
		t.Error("nil key accepted")
	}
}

// TestRSAShortSignature checks that a signature whose first octet is zero,
// sent without it (the same integer in k-1 octets), is refused as
// crypto/rsa refuses it (RFC 8017 §8.2.2 step 1).
func TestRSAShortSignature(t *testing.T) {
	priv := testRSAKey(t, 2048, 65537)
	for _, pss := range []bool{false, true} {
		c := &rsaDiff{t: t, fast: newRSAVerifier(t, &priv.PublicKey, crypto.SHA256, pss), std: stdVerifier(&priv.PublicKey, crypto.SHA256, pss)}
		var dbuf [64]byte
		found := false
		for i := 0; i < 5000 && !found; i++ {
			d := append([]byte(nil), jwa.Digest(crypto.SHA256, []byte(fmt.Sprint("message ", i)), &dbuf)...)
			var sig []byte
			var err error
			if pss {
				sig, err = rsa.SignPSS(rand.Reader, priv, crypto.SHA256, d, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
			} else {
				sig, err = rsa.SignPKCS1v15(nil, priv, crypto.SHA256, d)
			}
			if err != nil {
				t.Fatal(err)
			}
			if sig[0] != 0 {
				continue
			}
			found = true
			c.check("valid, leading zero", d, sig, true)
			c.check("leading zero dropped", d, sig[1:], false)
		}
		if !found {
			t.Fatalf("pss=%v: no signature with a leading zero octet in 5000", pss)
		}
	}
}

// TestRSASignatureAtLeastN checks that s + n, the same residue as a valid
// s written in k octets, is refused as crypto/rsa refuses it (RFC 8017
// §5.2.2 step 1: s must be below n).
func TestRSASignatureAtLeastN(t *testing.T) {
	priv := testRSAKey(t, 2048, 65537)
	limit := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(priv.N.BitLen())), priv.N) // s + n < 2^bits
	c := &rsaDiff{t: t, fast: newRSAVerifier(t, &priv.PublicKey, crypto.SHA256, false), std: stdVerifier(&priv.PublicKey, crypto.SHA256, false)}
	var dbuf [64]byte
	for i := range 5000 {
		d := append([]byte(nil), jwa.Digest(crypto.SHA256, []byte(fmt.Sprint("message ", i)), &dbuf)...)
		sig, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, d)
		if err != nil {
			t.Fatal(err)
		}
		s := new(big.Int).SetBytes(sig)
		if s.Cmp(limit) >= 0 {
			continue
		}
		c.check("valid", d, sig, true)
		c.check("s + n", d, new(big.Int).Add(s, priv.N).FillBytes(make([]byte, priv.Size())), false)
		return
	}
	t.Skip("no signature below 2^bits - n in 5000 (n too close to 2^bits)")
}
