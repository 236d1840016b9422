package jose

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"github.com/apiguard/apiguard/internal/jwa"
	"math/big"
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
		{"EC key for RS256", "a", RS256, &k.EC.PublicKey},
		{"P-384 for ES256", "a", ES256, &p384.PublicKey},
		{"RSA for EdDSA", "a", EdDSA, &k.RSA.PublicKey},
		{"short HMAC secret", "a", HS256, []byte("short")},
		{"HMAC without kid", "", HS256, k.HMAC},
		{"private key for HS256", "a", HS256, k.RSA},
		{"no alg", "a", "", &k.RSA.PublicKey},
		{"none", "a", "none", &k.RSA.PublicKey},
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
		{RS256, k.RSA, &k.RSA.PublicKey},
		{PS256, k.RSA, &k.RSA.PublicKey},
		{ES256, k.EC, &k.EC.PublicKey},
		{EdDSA, k.Ed, k.Ed.Public()},
		{HS256, k.HMAC, k.HMAC},
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
		mustKey(t, "r1", RS256, &k.RSA.PublicKey),
		mustKey(t, "r2", RS256, &k.RSAOther.PublicKey),
		mustKey(t, "e1", ES256, &k.EC.PublicKey),
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
	if _, err := NewStaticKeys(mustKey(t, "r1", RS256, &k.RSA.PublicKey), mustKey(t, "r1", ES256, &k.EC.PublicKey)); err == nil {
		t.Fatal("duplicate kid accepted")
	}
}

// TestVerifySignatureMatchesKeyVerify checks the gate's allocation-lean
// signature path answers exactly as Key.Verify, on valid signatures and on
// every kind of broken one (zero, out-of-range and high-bit r and s, flipped
// bits, wrong lengths).
func TestVerifySignatureMatchesKeyVerify(t *testing.T) {
	k := fixtureKeys(t)
	input := []byte("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0")
	type tc struct {
		key  *Key
		sigs [][]byte
	}
	var cases []tc
	for _, curve := range []struct {
		alg   string
		curve elliptic.Curve
	}{
		{ES256, elliptic.P256()}, {ES384, elliptic.P384()}, {ES512, elliptic.P521()},
	} {
		priv, err := ecdsa.GenerateKey(curve.curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		key := mustKey(t, curve.alg, curve.alg, &priv.PublicKey)
		size := key.esSize
		var sigs [][]byte
		for i := 0; i < 40; i++ {
			var d [64]byte
			r, s, err := ecdsa.Sign(rand.Reader, priv, jwa.Digest(key.hash, input, &d))
			if err != nil {
				t.Fatal(err)
			}
			sig := make([]byte, 2*size)
			r.FillBytes(sig[:size])
			s.FillBytes(sig[size:])
			sigs = append(sigs, sig)
			bad := append([]byte(nil), sig...)
			bad[i%len(bad)] ^= 0x80
			sigs = append(sigs, bad)
		}
		n := curve.curve.Params().N.FillBytes(make([]byte, size))
		zero := make([]byte, size)
		ones := bytesOf(0xff, size)
		valid := sigs[0]
		sigs = append(sigs,
			append(append([]byte(nil), zero...), valid[size:]...), // r = 0
			append(append([]byte(nil), valid[:size]...), zero...), // s = 0
			append(append([]byte(nil), n...), valid[size:]...),    // r = N
			append(append([]byte(nil), ones...), ones...),         // r, s > N
			append(append([]byte(nil), zero...), zero...),         // both 0
			valid[:len(valid)-1], append(append([]byte(nil), valid...), 0), nil,
		)
		cases = append(cases, tc{key, sigs})
	}
	rsaKey := mustKey(t, "r", RS256, &k.RSA.PublicKey)
	good := signBytes(t, RS256, k.RSA, input)
	flipped := append([]byte(nil), good...)
	flipped[7] ^= 1
	cases = append(cases, tc{rsaKey, [][]byte{good, flipped, good[1:], nil}})
	for _, c := range cases {
		accepted := 0
		for i, sig := range c.sigs {
			want := referenceVerify(c.key, input, sig)
			got := c.key.Verify(input, sig)
			if (want == nil) != (got == nil) {
				t.Fatalf("%s sig %d: Key.Verify %v, reference (math/big ecdsa.Verify) %v", c.key.Alg(), i, got, want)
			}
			if got == nil {
				accepted++
			}
		}
		if accepted == 0 {
			t.Fatalf("%s: no valid signature accepted", c.key.Alg())
		}
	}
}

func bytesOf(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// referenceVerify is the textbook check of RFC 7518 §3.4 (r and s as big
// integers, ecdsa.Verify), against which Key.Verify's DER fast path is held.
func referenceVerify(k *Key, input, sig []byte) error {
	if k.esSize == 0 {
		return k.Verify(input, sig)
	}
	if len(sig) != 2*k.esSize {
		return ErrInvalidSignature
	}
	var d [64]byte
	r := new(big.Int).SetBytes(sig[:k.esSize])
	s := new(big.Int).SetBytes(sig[k.esSize:])
	if ecdsa.Verify(k.public.(*ecdsa.PublicKey), jwa.Digest(k.hash, input, &d), r, s) {
		return nil
	}
	return ErrInvalidSignature
}

// TestKeyVerifyFastPath checks that RS*, PS* and EdDSA keys verify through
// internal/fastverify (ES* through crypto/ecdsa), and that Key.Verify
// answers as crypto/rsa and crypto/ed25519 do on valid, tampered, cut and
// lengthened signatures. fastverify's own tests hold it to crypto/* on
// every bit flip, crafted encodings and Wycheproof, and in FIPS 140 mode.
func TestKeyVerifyFastPath(t *testing.T) {
	k := fixtureKeys(t)
	input := []byte("eyJhbGciOiJQUzI1NiJ9.eyJzdWIiOiJ4In0")
	for _, alg := range []string{RS256, RS384, RS512, PS256, PS384, PS512, EdDSA, Ed25519, ES256} {
		t.Run(alg, func(t *testing.T) {
			var key *Key
			var priv any
			var std func(sig []byte) bool
			switch alg[0] {
			case 'R', 'P':
				key, priv = mustKey(t, "k", alg, &k.RSA.PublicKey), k.RSA
				pss := alg[0] == 'P'
				std = func(sig []byte) bool {
					var d [64]byte
					digest := jwa.Digest(key.hash, input, &d)
					if pss {
						return rsa.VerifyPSS(&k.RSA.PublicKey, key.hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
					}
					return rsa.VerifyPKCS1v15(&k.RSA.PublicKey, key.hash, digest, sig) == nil
				}
				if key.rsaFast == nil || key.edFast != nil {
					t.Fatal("RSA key without its fastverify verifier")
				}
			case 'E':
				if alg == ES256 {
					key := mustKey(t, "k", alg, &k.EC.PublicKey)
					if key.rsaFast != nil || key.edFast != nil {
						t.Fatal("ES256 key with a fastverify verifier")
					}
					return
				}
				pub := k.Ed.Public().(ed25519.PublicKey)
				key, priv = mustKey(t, "k", alg, pub), k.Ed
				std = func(sig []byte) bool { return ed25519.Verify(pub, input, sig) }
				if key.edFast == nil || key.rsaFast != nil {
					t.Fatal("Ed25519 key without its fastverify verifier")
				}
			}
			signAlg := alg
			if alg == Ed25519 {
				signAlg = EdDSA // the same signature; jwstest names it EdDSA
			}
			sig := signBytes(t, signAlg, priv, input)
			sigs := [][]byte{sig, sig[1:], sig[:len(sig)-1], append(append([]byte(nil), sig...), 0), nil}
			for i := 0; i < 8*len(sig); i += 61 {
				bad := append([]byte(nil), sig...)
				bad[i/8] ^= 1 << (i % 8)
				sigs = append(sigs, bad)
			}
			for i, s := range sigs {
				got, want := key.Verify(input, s) == nil, std(s)
				if got != want || (i == 0) != got {
					t.Errorf("signature %d: Key.Verify %v, crypto/* %v", i, got, want)
				}
			}
		})
	}
}
