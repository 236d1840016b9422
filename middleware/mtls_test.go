package middleware

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apiguard/apiguard/middleware/jose"
)

// testCert is a self-signed client certificate made for the test, and its
// RFC 8705 thumbprint.
type testCert struct {
	tls        tls.Certificate
	x509       *x509.Certificate
	thumbprint string
}

func newTestCert(t *testing.T, cn string) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return testCert{
		tls:        tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert},
		x509:       cert,
		thumbprint: base64.RawURLEncoding.EncodeToString(sum[:]),
	}
}

// clientCertHeader is the RFC 9440 Client-Cert value of c.
func (c testCert) header() string {
	return ":" + base64.StdEncoding.EncodeToString(c.x509.Raw) + ":"
}

// TestMTLSBoundTokens checks RFC 8705 §3 at the gate, request by request:
// the certificate from the TLS connection, or from the header of a trusted
// proxy only.
func TestMTLSBoundTokens(t *testing.T) {
	k := fixtureKeys(t)
	right, other := newTestCert(t, "client"), newTestCert(t, "other")
	bound := signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON("cnf", `{"x5t#S256":"`+right.thumbprint+`"}`))
	unbound := signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON())
	jwkOnly := signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON("cnf", `{"jwk":{"kty":"EC","crv":"P-256","x":"a","y":"b"}}`))
	withTLS := func(c ...testCert) *tls.ConnectionState {
		st := &tls.ConnectionState{}
		for _, x := range c {
			st.PeerCertificates = append(st.PeerCertificates, x.x509)
		}
		return st
	}
	const proxy, client = "10.0.0.7:4711", "203.0.113.9:4711"
	proxied := func(c *Config) { c.MTLS = &MTLSConfig{TrustedProxies: []string{"10.0.0.0/8"}} }
	tests := []struct {
		name   string
		token  string
		mod    func(*Config)
		tls    *tls.ConnectionState
		peer   string
		certs  []string // Client-Cert header lines
		reason Reason   // "" accepted
	}{
		{"right certificate", bound, nil, withTLS(right), client, nil, ""},
		{"right certificate first in the chain", bound, nil, withTLS(right, other), client, nil, ""},
		{"other certificate", bound, nil, withTLS(other), client, nil, ReasonCertMismatch},
		{"right one second in the chain", bound, nil, withTLS(other, right), client, nil, ReasonCertMismatch},
		{"no certificate over TLS", bound, nil, withTLS(), client, nil, ReasonCertMissing},
		{"no TLS", bound, nil, nil, client, nil, ReasonCertMissing},
		{"header without MTLS config", bound, nil, nil, proxy, []string{right.header()}, ReasonCertMissing},
		{"header from an untrusted peer", bound, proxied, nil, client, []string{right.header()}, ReasonCertMissing},
		{"header from an untrusted peer beside another TLS cert", bound, proxied, withTLS(other), client, []string{right.header()}, ReasonCertMismatch},
		{"header from a trusted proxy", bound, proxied, nil, proxy, []string{right.header()}, ""},
		{"header with spaces from a trusted proxy", bound, proxied, nil, proxy, []string{"  " + right.header() + " "}, ""},
		{"other certificate in the header", bound, proxied, nil, proxy, []string{other.header()}, ReasonCertMismatch},
		{"trusted proxy without the header", bound, proxied, withTLS(right), proxy, nil, ReasonCertMissing},
		{"two header lines", bound, proxied, nil, proxy, []string{right.header(), right.header()}, ReasonCertHeader},
		{"header not a byte sequence", bound, proxied, nil, proxy, []string{base64.StdEncoding.EncodeToString(right.x509.Raw)}, ReasonCertHeader},
		{"header base64url", bound, proxied, nil, proxy, []string{":" + base64.RawURLEncoding.EncodeToString(right.x509.Raw) + ":"}, ReasonCertHeader},
		{"header empty sequence", bound, proxied, nil, proxy, []string{"::"}, ReasonCertHeader},
		{"header too large", bound, proxied, nil, proxy, []string{":" + strings.Repeat("A", MaxCertHeaderSize) + ":"}, ReasonCertHeader},
		{"custom header name", bound, func(c *Config) {
			c.MTLS = &MTLSConfig{TrustedProxies: []string{"10.0.0.7"}, CertHeader: "X-SSL-Client-Cert"}
		}, nil, proxy, nil, ReasonCertMissing},
		{"unbound token, no certificate", unbound, proxied, nil, client, nil, ""},
		{"unbound token, any certificate", unbound, nil, withTLS(other), client, nil, ""},
		{"cnf with only a jwk", jwkOnly, nil, withTLS(right), client, nil, ReasonCnfUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestGate(t, tt.mod)
			r := httptest.NewRequest("GET", "/api/me", nil)
			r.RemoteAddr, r.TLS = tt.peer, tt.tls
			r.Header.Set("Authorization", "Bearer "+tt.token)
			for _, v := range tt.certs {
				r.Header.Add("Client-Cert", v)
			}
			res := serve(a, r)
			if tt.reason == "" {
				if !res.called {
					t.Fatalf("refused: %d %s", res.rec.Code, res.rec.Body)
				}
				return
			}
			if res.called || res.rec.Code != http.StatusUnauthorized {
				t.Fatalf("status %d called %v, want 401", res.rec.Code, res.called)
			}
			_, err := a.Authenticate(r)
			if got := reasonOf(err); got != tt.reason {
				t.Fatalf("reason %q, want %q", got, tt.reason)
			}
			want := newError(tt.reason, nil).Description
			if www := res.rec.Header().Get("WWW-Authenticate"); www != `Bearer realm="api", error="invalid_token", error_description="`+want+`"` {
				t.Fatalf("WWW-Authenticate %q", www)
			}
		})
	}
}

// TestMTLSOverTLS runs the rule over real TLS connections: an httptest TLS
// server asking for client certificates (tls.RequestClientCert, no chain
// verification: the binding is what authenticates, RFC 8705 §2.2), and
// clients with the right certificate, another one, and none.
func TestMTLSOverTLS(t *testing.T) {
	k := fixtureKeys(t)
	right, other := newTestCert(t, "client"), newTestCert(t, "other")
	bound := signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON("cnf", `{"x5t#S256":"`+right.thumbprint+`"}`))
	a := newTestGate(t, nil)
	ts := httptest.NewUnstartedServer(a.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
	ts.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	ts.StartTLS()
	defer ts.Close()
	for _, tt := range []struct {
		name   string
		certs  []tls.Certificate
		status int
	}{
		{"right certificate", []tls.Certificate{right.tls}, http.StatusNoContent},
		{"other certificate", []tls.Certificate{other.tls}, http.StatusUnauthorized},
		{"no certificate", nil, http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr := ts.Client().Transport.(*http.Transport).Clone()
			tr.TLSClientConfig.Certificates = tt.certs
			c := &http.Client{Transport: tr}
			defer tr.CloseIdleConnections()
			req, _ := http.NewRequest("GET", ts.URL+"/api/me", nil)
			req.Header.Set("Authorization", "Bearer "+bound)
			res, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			if tt.status == http.StatusUnauthorized && !strings.Contains(res.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Fatalf("WWW-Authenticate %q", res.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestMTLSConfigErrors(t *testing.T) {
	for name, m := range map[string]*MTLSConfig{
		"bad CIDR":    {TrustedProxies: []string{"10.0.0.0/33"}},
		"bad header":  {CertHeader: "Client Cert"},
		"header name": {CertHeader: "a:b"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.MTLS = m
			if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "Config.MTLS.") {
				t.Fatalf("err = %v, want one naming Config.MTLS", err)
			}
		})
	}
}

func TestParseByteSequence(t *testing.T) {
	for in, want := range map[string]string{
		":aGVsbG8=:":   "hello",
		" :aGVsbG8=: ": "hello",
		"aGVsbG8=":     "",
		":aGVsbG8:":    "", // padding required
		":aGVsbG8=":    "",
		"::":           "",
		":a GVsbG8=:":  "",
		":aGVsbG9=:":   "", // non-zero unused bits
	} {
		got, ok := parseByteSequence(in)
		if ok != (want != "") || string(got) != want {
			t.Errorf("parseByteSequence(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
