package fastverify

import (
	"crypto/ed25519"
	"crypto/sha256"
	"math/big"
	"sync"
	"testing"

	"github.com/apiguard/apiguard/internal/jwa"
)

// fuzzEdKey is the Ed25519 key of FuzzVerify, from a fixed seed.
var fuzzEdKey = sync.OnceValue(func() ed25519.PrivateKey { return ed25519.NewKeyFromSeed(make([]byte, 32)) })

// FuzzVerify compares this package with crypto/rsa and crypto/ed25519 on
// arbitrary inputs. choice picks the scheme (PKCS #1 v1.5 or PSS with
// SHA-256/384/512, or Ed25519); the signature is delta itself when raw is
// set, and otherwise the valid signature of msg with delta XORed into its
// encoded message (RSA: the EM, then signed with the raw private key
// operation; Ed25519: the signature), so that the fuzzer explores the
// encodings one bit away from valid.
func FuzzVerify(f *testing.F) {
	for c := range 7 {
		f.Add(uint8(c), []byte("header.payload"), []byte{}, false)
		f.Add(uint8(c), []byte("header.payload"), []byte{0, 0, 1}, false)
		f.Add(uint8(c), []byte(""), []byte{1, 2, 3}, true)
	}
	f.Fuzz(func(t *testing.T, choice uint8, msg, delta []byte, raw bool) {
		if choice%7 == 6 {
			priv := fuzzEdKey()
			pub := priv.Public().(ed25519.PublicKey)
			v, err := NewEd25519(pub)
			if err != nil {
				t.Fatal(err)
			}
			sig := delta
			if !raw {
				sig = ed25519.Sign(priv, msg)
				for i := range min(len(delta), len(sig)) {
					sig[i] ^= delta[i]
				}
				if len(delta) > len(sig) {
					sig = append(sig, delta[len(sig):]...)
				}
			}
			if got, std := v.Verify(msg, sig), ed25519.Verify(pub, msg, sig); got != std {
				t.Fatalf("Ed25519: fastverify %v, crypto/ed25519 %v", got, std)
			}
			return
		}
		h := rsaHashes[choice%3]
		pss := choice%7 >= 3
		priv := testRSAKey(t, 2048, 65537)
		var dbuf [64]byte
		d := jwa.Digest(h, msg, &dbuf)
		sig := delta
		if !raw {
			var em []byte
			if pss {
				salt := sha256.Sum256(msg)
				em = pssEM(h, d, append(salt[:], salt[:]...)[:h.Size()], priv.N.BitLen())
			} else {
				em = pkcs1v15EM(h, d, priv.Size())
			}
			for i := range min(len(delta), len(em)) {
				em[i] ^= delta[i]
			}
			if new(big.Int).SetBytes(em).Cmp(priv.N) >= 0 {
				return
			}
			sig = rawSign(priv, em)
		}
		v := newRSAVerifier(t, &priv.PublicKey, h, pss)
		if got, std := v.Verify(d, sig), stdVerifier(&priv.PublicKey, h, pss)(d, sig); got != std {
			t.Fatalf("%s pss=%v: fastverify %v, crypto/rsa %v", h, pss, got, std)
		}
	})
}
