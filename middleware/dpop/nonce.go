package dpop

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"sync/atomic"
	"time"
)

// Server nonces (RFC 9449 §8, §9) are stateless, so that every instance
// holding the secret makes and accepts the same ones: a nonce is
//
//	base64url(counter || HMAC-SHA-256(secret, label || counter)[:16])
//
// where counter is the 8-byte big-endian number of NonceStep periods since
// the epoch. It is accepted during its own step and the next one (so for
// between one and two steps), and a client holding the previous step's
// nonce is told the current one (Proof.NextNonce). The 128-bit MAC is
// unforgeable without the secret; the label keeps the secret's MACs apart
// from any other use of it. Instances whose clocks differ by more than a
// step disagree at step boundaries: a client is then answered
// use_dpop_nonce once more, and retries.

// nonceLabel separates these MACs from any other use of the secret.
const nonceLabel = "apiguard dpop nonce v1\x00"

// nonceLen is the length of a nonce's text: 8 + 16 bytes, base64url.
const nonceLen = 32

type nonces struct {
	secret []byte
	step   int64 // nanoseconds
	cached atomic.Pointer[nonceStep]
}

// nonceStep holds the nonces of one step and the one before it.
type nonceStep struct {
	n         int64
	cur, prev string
}

func newNonces(secret []byte, step time.Duration) *nonces {
	return &nonces{secret: append([]byte(nil), secret...), step: int64(step)}
}

// counter returns the step number of t, rounded toward minus infinity.
func (ns *nonces) counter(t time.Time) int64 {
	u := t.UnixNano()
	n := u / ns.step
	if u%ns.step < 0 {
		n--
	}
	return n
}

// at returns the nonces of t's step, computed once per step (and again
// after a clock jump) and shared lock-free.
func (ns *nonces) at(t time.Time) *nonceStep {
	n := ns.counter(t)
	if s := ns.cached.Load(); s != nil && s.n == n {
		return s
	}
	s := &nonceStep{n: n, cur: ns.make(n), prev: ns.make(n - 1)}
	ns.cached.Store(s)
	return s
}

func (ns *nonces) mac(n int64) [sha256.Size]byte {
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], uint64(n))
	m := hmac.New(sha256.New, ns.secret)
	m.Write([]byte(nonceLabel))
	m.Write(c[:])
	var out [sha256.Size]byte
	m.Sum(out[:0])
	return out
}

func (ns *nonces) make(n int64) string {
	var raw [24]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(n))
	mac := ns.mac(n)
	copy(raw[8:], mac[:16])
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

// check judges a proof's nonce at t: ok with next "" (the current step's),
// ok with next set (the previous step's: send the current one), or a
// use_dpop_nonce reason.
func (ns *nonces) check(nonce string, present bool, t time.Time) (next, reason string) {
	s := ns.at(t)
	switch {
	case !present || nonce == "":
		return "", ReasonNonceMissing
	case len(nonce) != nonceLen:
		return "", ReasonNonceInvalid
	case equal(nonce, s.cur):
		return "", ""
	case equal(nonce, s.prev):
		return s.cur, ""
	}
	// Neither: an older nonce of ours, or not ours at all.
	var raw [24]byte
	if n, err := base64.RawURLEncoding.Strict().Decode(raw[:], []byte(nonce)); err != nil || n != len(raw) {
		return "", ReasonNonceInvalid
	}
	c := int64(binary.BigEndian.Uint64(raw[:8]))
	if mac := ns.mac(c); c < s.n-1 && subtle.ConstantTimeCompare(mac[:16], raw[8:]) == 1 {
		return "", ReasonNonceStale
	}
	return "", ReasonNonceInvalid
}

// equal compares two strings of equal length in time independent of their
// contents.
func equal(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return v == 0
}
