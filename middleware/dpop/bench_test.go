package dpop

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/dpoptest"
)

// BenchmarkVerify compares a whole Verify of an ES256 proof (with ath and a
// nonce) with the raw ecdsa.Verify of the same proof's signing input, the
// floor no verifier goes below. Each iteration verifies a proof with a
// fresh jti (made beforehand, so signing is not measured) on a cache that
// forgets them as the clock moves.
func BenchmarkVerify(b *testing.B) {
	k := testKeys().P256
	const n = 4096
	// The verifier's clock stays at t0 (every proof's iat); the cache's
	// moves on by a window per round, so that each round's jtis are fresh.
	cacheNow := t0
	secret := []byte(strings.Repeat("k", 32))
	cache := NewMemoryReplayCache(0)
	cache.Now = func() time.Time { return cacheNow }
	v := newVerifier(b, Config{Replay: cache, NonceSecret: secret}, nil)
	proofs := make([]string, n)
	for i := range proofs {
		proofs[i] = proof(dpoptest.JTI(strconv.Itoa(i)), dpoptest.Nonce(v.Nonce()))
	}
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i] = request("GET", testHTU+"?page=1", proofs[i])
	}
	// Both, interleaved: on a loaded machine the ratio of the two sums is
	// steadier than that of two runs taken apart.
	b.Run("ratio", func(b *testing.B) {
		p := proofs[0]
		dot := strings.LastIndexByte(p, '.')
		sig, _ := b64raw.DecodeString(p[dot+1:])
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		var tv, te time.Duration
		i := 0
		for b.Loop() {
			if i%n == 0 {
				cacheNow = cacheNow.Add(DefaultMaxAge + DefaultLeeway + time.Second)
			}
			t1 := time.Now()
			if _, err := v.Verify(reqs[i%n], testToken); err != nil {
				b.Fatal(err)
			}
			t2 := time.Now()
			sum := sha256.Sum256([]byte(p[:dot]))
			if !ecdsa.Verify(&k.PublicKey, sum[:], r, s) {
				b.Fatal("bad signature")
			}
			t3 := time.Now()
			tv, te = tv+t2.Sub(t1), te+t3.Sub(t2)
			i++
		}
		b.ReportMetric(float64(tv)/float64(te), "verify/ecdsa")
	})
	b.Run("Verify", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if i%n == 0 { // each jti again (also in a new run of b), once the previous round expired
				cacheNow = cacheNow.Add(DefaultMaxAge + DefaultLeeway + time.Second)
			}
			if _, err := v.Verify(reqs[i%n], testToken); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("ecdsa.Verify", func(b *testing.B) {
		b.ReportAllocs()
		p := proofs[0]
		dot := strings.LastIndexByte(p, '.')
		sig, _ := b64raw.DecodeString(p[dot+1:])
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		pub := &k.PublicKey
		for b.Loop() {
			sum := sha256.Sum256([]byte(p[:dot]))
			if !ecdsa.Verify(pub, sum[:], r, s) {
				b.Fatal("bad signature")
			}
		}
	})
}

// BenchmarkMemoryReplayCache measures Use with fresh pairs (about 50,000
// live entries, expired ones reused and swept) and with replays.
func BenchmarkMemoryReplayCache(b *testing.B) {
	ctx := context.Background()
	const n = 1 << 16
	jtis := make([]string, n)
	for i := range jtis {
		jtis[i] = dpoptest.ATH(strconv.Itoa(i))[:22] // 22 characters, as 128 random bits
	}
	jkt := dpoptest.ATH("key")
	b.Run("fresh", func(b *testing.B) {
		c := NewMemoryReplayCache(0)
		now := t0
		c.Now = func() time.Time { return now }
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			now = now.Add(time.Microsecond)
			if err := c.Use(ctx, jkt, jtis[i%n], now.Add(50*time.Millisecond)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("replayed", func(b *testing.B) {
		c := NewMemoryReplayCache(0)
		exp := time.Now().Add(time.Hour)
		for _, jti := range jtis {
			c.Use(ctx, jkt, jti, exp)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := c.Use(ctx, jkt, jtis[i%n], exp); err != ErrReplay {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("fresh parallel", func(b *testing.B) {
		c := NewMemoryReplayCache(0)
		exp := time.Now().Add(time.Hour)
		b.ReportAllocs()
		var id atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			g := strconv.Itoa(int(id.Add(1)))
			i := 0
			for pb.Next() {
				c.Use(ctx, g, jtis[i%n], exp.Add(time.Duration(i/n)))
				i++
			}
		})
	})
}
