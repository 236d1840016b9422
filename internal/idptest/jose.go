package idptest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// member is one name/value pair of a JSON object whose member order matters.
type member struct {
	k string
	v any
}

// obj is a JSON object that keeps its member order when marshalled, so the
// documents and headers come out in the order the provider writes them (which
// also fixes their byte size).
type obj []member

// MarshalJSON writes the members in order.
func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.k)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(m.v)
		if err != nil {
			return nil, fmt.Errorf("member %q: %w", m.k, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// with returns a copy of o with the overrides applied: an existing member is
// replaced in place, a new one is appended (in sorted name order, for
// determinism), a nil value deletes.
func (o obj) with(over map[string]any) obj {
	out := make(obj, 0, len(o)+len(over))
	seen := map[string]bool{}
	for _, m := range o {
		if v, ok := over[m.k]; ok {
			seen[m.k] = true
			if v == nil {
				continue
			}
			m.v = v
		}
		out = append(out, m)
	}
	for _, k := range sortedKeys(over) {
		if !seen[k] && over[k] != nil {
			out = append(out, member{k, over[k]})
		}
	}
	return out
}

// spaced writes o the way Keycloak's JWSBuilder concatenates its header:
// `{"alg":"RS256","typ" : "JWT","kid" : "…"}`, a space either side of the
// colon from the second member on.
func spaced(t testing.TB, o obj) []byte {
	t.Helper()
	b := mustJSON(t, o[:min(1, len(o))])
	if len(o) < 2 {
		return b
	}
	out := bytes.NewBuffer(b[:len(b)-1])
	for _, m := range o[1:] {
		out.WriteByte(',')
		out.Write(mustJSON(t, m.k))
		out.WriteString(" : ")
		out.Write(mustJSON(t, m.v))
	}
	out.WriteByte('}')
	return out.Bytes()
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("idptest: marshal: %v", err)
	}
	return b
}

var b64u = base64.RawURLEncoding

// signRS256 builds a compact JWS over header and claims with k.
// A header that is already []byte is used as it is (encoding/json would
// compact the spacing of a json.Marshaler's output).
func signRS256(t testing.TB, k *rsa.PrivateKey, header, claims any) string {
	t.Helper()
	h, ok := header.([]byte)
	if !ok {
		h = mustJSON(t, header)
	}
	in := b64u.EncodeToString(h) + "." + b64u.EncodeToString(mustJSON(t, claims))
	sum := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatalf("idptest: sign: %v", err)
	}
	return in + "." + b64u.EncodeToString(sig)
}

// genRSA generates n RSA keys of bits each, concurrently (key generation is
// the slow part of a fixture, more so under -race).
func genRSA(t testing.TB, n, bits int) []*rsa.PrivateKey {
	t.Helper()
	keys := make([]*rsa.PrivateKey, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i], errs[i] = rsa.GenerateKey(rand.Reader, bits)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("idptest: generate RSA-%d: %v", bits, err)
		}
	}
	return keys
}

// selfSigned returns the DER of a self-signed certificate over k with subject
// CN cn, the shape of the x5c certificates Entra, Auth0 and Keycloak publish
// (one self-signed certificate, subject equal to issuer).
func selfSigned(t testing.TB, k *rsa.PrivateKey, cn string, validFor time.Duration) []byte {
	t.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatalf("idptest: serial: %v", err)
	}
	now := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:       serial,
		Subject:            pkix.Name{CommonName: cn},
		NotBefore:          now,
		NotAfter:           now.Add(validFor),
		SignatureAlgorithm: x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatalf("idptest: certificate: %v", err)
	}
	return der
}

func rsaN(k *rsa.PublicKey) string { return b64u.EncodeToString(k.N.Bytes()) }

func rsaE(k *rsa.PublicKey) string {
	return b64u.EncodeToString(big.NewInt(int64(k.E)).Bytes())
}

func x5tSHA1(der []byte) string {
	s := sha1.Sum(der)
	return b64u.EncodeToString(s[:])
}

func x5tS256(der []byte) string {
	s := sha256.Sum256(der)
	return b64u.EncodeToString(s[:])
}

func spkiSHA256(t testing.TB, k *rsa.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatalf("idptest: SPKI: %v", err)
	}
	s := sha256.Sum256(der)
	return s[:]
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b
}

func randB64u(n int) string { return b64u.EncodeToString(randBytes(n)) }
func randHex(n int) string  { return hex.EncodeToString(randBytes(n)) }

// randFrom draws n characters from alphabet (uniform enough for identifiers).
func randFrom(alphabet string, n int) string {
	b := randBytes(n)
	var s strings.Builder
	for _, c := range b {
		s.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return s.String()
}

const (
	alnum      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	nanoidABC  = "_-" + alnum
	digits     = "0123456789"
)

// uuid4 is an RFC 9562 version 4 UUID (Entra object and tenant ids, Keycloak
// subjects and sessions, Cognito subjects are of this form).
func uuid4() string {
	b := randBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
