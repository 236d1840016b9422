package fastverify

import (
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"math/big"
	"testing"

	"filippo.io/edwards25519"
)

// edDiff runs both Ed25519 verifiers and fails on any disagreement.
type edDiff struct {
	t      *testing.T
	fast   *Ed25519
	pub    ed25519.PublicKey
	n, acc int
}

func (c *edDiff) check(name string, msg, sig []byte, want ...bool) {
	c.t.Helper()
	got, std := c.fast.Verify(msg, sig), ed25519.Verify(c.pub, msg, sig)
	c.n++
	if got {
		c.acc++
	}
	if got != std {
		c.t.Errorf("%s: fastverify %v, crypto/ed25519 %v", name, got, std)
	}
	if len(want) > 0 && std != want[0] {
		c.t.Errorf("%s: crypto/ed25519 %v, want %v", name, std, want[0])
	}
}

func newEdDiff(t *testing.T, pub ed25519.PublicKey) *edDiff {
	t.Helper()
	v, err := NewEd25519(pub)
	if err != nil {
		t.Fatal(err)
	}
	return &edDiff{t: t, fast: v, pub: pub}
}

// groupOrder is l, the order of the Ed25519 base point.
var groupOrder, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)

// leBytes returns x as 32 little-endian octets.
func leBytes(x *big.Int) []byte {
	b := x.FillBytes(make([]byte, 32))
	for i, j := 0, 31; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return b
}

// TestEd25519Differential checks that Ed25519.Verify accepts and refuses
// exactly what ed25519.Verify does: valid signatures over messages of
// several lengths, every single-bit flip of the signature and of short
// messages, truncations and extensions, S + l, S = l, S with the top bits
// set, all zeros, all ones.
func TestEd25519Differential(t *testing.T) {
	for _, msgLen := range []int{0, 1, 16, 300, 2000} {
		t.Run(fmt.Sprint(msgLen), func(t *testing.T) {
			pub, priv, err := ed25519.GenerateKey(nil)
			if err != nil {
				t.Fatal(err)
			}
			c := newEdDiff(t, pub)
			msg := make([]byte, msgLen)
			for i := range msg {
				msg[i] = byte(i * 7)
			}
			sig := ed25519.Sign(priv, msg)
			c.check("valid", msg, sig, true)
			for i := range 8 * len(sig) {
				s := append([]byte(nil), sig...)
				s[i/8] ^= 1 << (i % 8)
				c.check(fmt.Sprintf("sig bit %d", i), msg, s, false)
			}
			for i := range 8 * min(len(msg), 16) {
				m := append([]byte(nil), msg...)
				m[i/8] ^= 1 << (i % 8)
				c.check(fmt.Sprintf("msg bit %d", i), m, sig, false)
			}
			c.check("sig minus last octet", msg, sig[:63], false)
			c.check("sig plus octet", msg, append(append([]byte(nil), sig...), 0), false)
			c.check("empty sig", msg, nil, false)
			c.check("msg plus octet", append(append([]byte(nil), msg...), 0), sig, false)
			if len(msg) > 0 {
				c.check("msg minus last octet", msg[:len(msg)-1], sig, false)
			}
			S := new(big.Int).SetBytes(leBytes(new(big.Int).SetBytes(sig[32:]))) // S as an integer
			for name, s := range map[string]*big.Int{
				"S + l": new(big.Int).Add(S, groupOrder), "S = l": groupOrder,
				"S + 2^253": new(big.Int).Add(S, new(big.Int).Lsh(big.NewInt(1), 253)),
				"S = 0":     new(big.Int),
			} {
				c.check(name, msg, append(append([]byte(nil), sig[:32]...), leBytes(s)...), false)
			}
			zeros, ones := make([]byte, 64), make([]byte, 64)
			for i := range ones {
				ones[i] = 0xff
			}
			c.check("all zeros", msg, zeros, false)
			c.check("all ones", msg, ones, false)
			c.check("other key's signature", msg, ed25519.Sign(ed25519.NewKeyFromSeed(make([]byte, 32)), msg), false)
		})
	}
}

// signWithPoint signs msg as Ed25519 does with the secret scalar a of priv,
// but with the bytes aBytes hashed as the public key: k = H(R || aBytes ||
// M), S = r + k·a. Under a public key A' = A + T with T of small order,
// [S]B = R + [k]A' holds exactly when [k]T is the identity.
func signWithPoint(priv ed25519.PrivateKey, aBytes, msg []byte, nonce byte) []byte {
	h := sha512.Sum512(priv.Seed())
	a, _ := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	rh := sha512.Sum512(append([]byte{nonce}, msg...))
	r, _ := edwards25519.NewScalar().SetUniformBytes(rh[:])
	R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()
	kh := sha512.New()
	kh.Write(R)
	kh.Write(aBytes)
	kh.Write(msg)
	k, _ := edwards25519.NewScalar().SetUniformBytes(kh.Sum(nil))
	S := edwards25519.NewScalar().MultiplyAdd(k, a, r)
	return append(R, S.Bytes()...)
}

// smallOrder are encodings of points of small order, canonical and not
// (y ≥ p, or the sign bit set with x = 0).
var smallOrder = []string{
	"0100000000000000000000000000000000000000000000000000000000000000", // identity
	"0100000000000000000000000000000000000000000000000000000000000080", // identity, sign bit set
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // identity, y = p + 1
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2, y = -1
	"0000000000000000000000000000000000000000000000000000000000000000", // order 4, y = 0
	"0000000000000000000000000000000000000000000000000000000000000080", // order 4, y = 0, other x
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 4, y = p
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", // order 8, sign bit flipped
}

// TestEd25519SmallOrder checks keys and R values of small order, in
// canonical and non-canonical encodings, and keys with a small-order
// component: the cofactorless equation, the key hashed as given, and R
// compared as given, exactly as crypto/ed25519 does.
func TestEd25519SmallOrder(t *testing.T) {
	pubOK, priv, _ := ed25519.GenerateKey(nil)
	var A edwards25519.Point
	if _, err := A.SetBytes(pubOK); err != nil {
		t.Fatal(err)
	}
	decoded := 0
	for _, ks := range smallOrder {
		tb, _ := hex.DecodeString(ks)
		var T edwards25519.Point
		if _, err := T.SetBytes(tb); err != nil {
			// Not a point: both must refuse every signature.
			if _, err := NewEd25519(tb); err == nil {
				t.Errorf("%s: NewEd25519 accepted a key that is not a point", ks)
			}
			if ed25519.Verify(tb, nil, make([]byte, 64)) {
				t.Errorf("%s: crypto/ed25519 accepted under a key that is not a point", ks)
			}
			continue
		}
		decoded++
		t.Run("key "+ks[:8]+ks[60:], func(t *testing.T) {
			// The small-order point as the key, every small-order R, S = 0 and 1.
			c := newEdDiff(t, tb)
			for _, rs := range smallOrder {
				rb, _ := hex.DecodeString(rs)
				for _, s := range []byte{0, 1} {
					for m := range 8 {
						sig := append(append([]byte(nil), rb...), make([]byte, 32)...)
						sig[32] = s
						c.check(fmt.Sprintf("R %s S %d msg %d", rs[:8], s, m), []byte{byte(m)}, sig)
					}
				}
			}
			// A + T as the key: true signatures verify only when [k]T = 0.
			at := new(edwards25519.Point).Add(&A, &T).Bytes()
			c2 := newEdDiff(t, at)
			for m := range 64 {
				msg := []byte(fmt.Sprintf("message %d", m))
				c2.check(fmt.Sprint("A+T msg ", m), msg, signWithPoint(priv, at, msg, byte(m)))
			}
			t.Logf("small-order key: %d checks, %d accepted; A+T: %d checks, %d accepted", c.n, c.acc, c2.n, c2.acc)
			if c.acc == 0 {
				t.Error("no signature accepted under the small-order key: the case tests nothing")
			}
		})
	}
	if decoded < 6 {
		t.Errorf("only %d small-order encodings decoded", decoded)
	}
	// The same A + T check on a key of order 8·l: accepted for about one
	// message in eight, which a wrong k (hashing a re-encoded key, or k not
	// reduced mod l) would not reproduce.
	tb, _ := hex.DecodeString(smallOrder[7])
	var T edwards25519.Point
	T.SetBytes(tb)
	at := new(edwards25519.Point).Add(&A, &T).Bytes()
	c := newEdDiff(t, at)
	for m := range 256 {
		msg := []byte(fmt.Sprintf("torsion %d", m))
		c.check(fmt.Sprint("msg ", m), msg, signWithPoint(priv, at, msg, byte(m)))
	}
	if c.acc == 0 || c.acc == c.n {
		t.Errorf("A+T: %d of %d accepted, want some but not all", c.acc, c.n)
	}
	t.Logf("A+T (order 8 component): %d of %d accepted", c.acc, c.n)
}

// TestEd25519KeyRules checks the constructor refuses keys of the wrong
// length and bytes that are not a point.
func TestEd25519KeyRules(t *testing.T) {
	if _, err := NewEd25519(make([]byte, 31)); err == nil {
		t.Error("31-byte key accepted")
	}
	bad, _ := hex.DecodeString("0200000000000000000000000000000000000000000000000000000000000000")
	if _, err := NewEd25519(bad); err == nil {
		t.Error("y = 2 accepted (not on the curve)")
	}
	if ed25519.Verify(bad, nil, make([]byte, 64)) {
		t.Error("crypto/ed25519 accepted under y = 2")
	}
}
