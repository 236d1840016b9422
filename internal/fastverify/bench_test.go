package fastverify

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"slices"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/jwa"
)

// BenchmarkVerify alternates crypto/*'s verify and this package's, call by
// call, on the same digest and signature, and reports the median of each
// and their ratio (fast/std): on a shared machine, alternating calls share
// the same noise, and medians drop the calls another process preempted.
func BenchmarkVerify(b *testing.B) {
	for _, c := range []struct {
		name string
		bits int
		h    crypto.Hash
		pss  bool
	}{
		{"RS256-2048", 2048, crypto.SHA256, false},
		{"RS384-2048", 2048, crypto.SHA384, false},
		{"RS512-2048", 2048, crypto.SHA512, false},
		{"PS256-2048", 2048, crypto.SHA256, true},
		{"PS384-2048", 2048, crypto.SHA384, true},
		{"PS512-2048", 2048, crypto.SHA512, true},
		{"RS256-4096", 4096, crypto.SHA256, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			priv := testRSAKey(b, c.bits, 65537)
			var dbuf [64]byte
			d := jwa.Digest(c.h, []byte("header.payload"), &dbuf)
			var std func() bool
			var v *RSA
			var err error
			if c.pss {
				sig, _ := rsa.SignPSS(rand.Reader, priv, c.h, d, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
				opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}
				std = func() bool { return rsa.VerifyPSS(&priv.PublicKey, c.h, d, sig, opts) == nil }
				v, err = NewPSS(&priv.PublicKey, c.h)
				if err != nil {
					b.Fatal(err)
				}
				interleave(b, std, func() bool { return v.Verify(d, sig) })
				return
			}
			sig, _ := rsa.SignPKCS1v15(nil, priv, c.h, d)
			std = func() bool { return rsa.VerifyPKCS1v15(&priv.PublicKey, c.h, d, sig) == nil }
			if v, err = NewPKCS1v15(&priv.PublicKey, c.h); err != nil {
				b.Fatal(err)
			}
			interleave(b, std, func() bool { return v.Verify(d, sig) })
		})
	}
	b.Run("EdDSA", func(b *testing.B) {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		msg := make([]byte, 400)
		sig := ed25519.Sign(priv, msg)
		v, err := NewEd25519(pub)
		if err != nil {
			b.Fatal(err)
		}
		interleave(b, func() bool { return ed25519.Verify(pub, msg, sig) }, func() bool { return v.Verify(msg, sig) })
	})
}

// interleave runs std and fast one after the other per iteration and
// reports their medians and fast/std.
func interleave(b *testing.B, std, fast func() bool) {
	const samples = 1 << 12
	var ts, tf [samples]time.Duration
	n := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		ok := std()
		t1 := time.Now()
		ok = fast() && ok
		ts[n%samples], tf[n%samples] = t1.Sub(t0), time.Since(t1)
		n++
		if !ok {
			b.Fatal("not verified")
		}
	}
	n = min(n, samples)
	s, f := median(ts[:n]), median(tf[:n])
	b.ReportMetric(float64(s.Nanoseconds()), "std-ns/op")
	b.ReportMetric(float64(f.Nanoseconds()), "fast-ns/op")
	b.ReportMetric(float64(f)/float64(s), "fast/std")
}

func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}
