package middleware

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/apiguard/apiguard/internal/jwstest"
	"github.com/apiguard/apiguard/middleware/jose"
)

// keyList is a fixed jose.PublicKeySet.
type keyList []*jose.Key

func (l keyList) PublicKeys() []*jose.Key { return l }

// jwksOf returns the JWK Set document of keys, as a JWKS handler serves it.
func jwksOf(t *testing.T, keys ...*jose.Key) []byte {
	t.Helper()
	h, err := jose.NewJWKSHandler(keyList(keys), 0)
	if err != nil {
		t.Fatal(err)
	}
	return jwstest.GetJWKS(t, h).Body.Bytes()
}

// Each form of key source verifies its tokens, and the default allowlist is
// the algorithms of the keys given.
func TestNewKeySources(t *testing.T) {
	k := fixtureKeys(t)
	rsTok := signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON())
	// A token without kid: PEM keys are named by their thumbprint.
	rsNoKID := signJSON(t, jose.RS256, k.RSA, `{"alg":"RS256","typ":"at+jwt"}`, claimsJSON())
	psTok := signJSON(t, jose.PS256, k.RSA, `{"alg":"PS256","kid":"rsa1","typ":"at+jwt"}`, claimsJSON())
	esTok := signJSON(t, jose.ES256, k.EC, `{"alg":"ES256","kid":"ec1","typ":"at+jwt"}`, claimsJSON())
	static, err := jose.NewStaticKeys(mustKey(t, "rsa1", jose.RS256, &k.RSA.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	jwks := jwksOf(t, mustKey(t, "rsa1", jose.RS256, &k.RSA.PublicKey), mustKey(t, "ec1", jose.ES256, &k.EC.PublicKey))
	tests := []struct {
		name     string
		mod      func(*Config)
		algs     []string
		accepted []string
		refused  map[string]Reason
	}{
		{"Keys", func(c *Config) { c.Keys = static }, []string{jose.RS256},
			[]string{rsTok}, map[string]Reason{psTok: ReasonAlgNotAllowed, esTok: ReasonAlgNotAllowed}},
		{"JWKS", func(c *Config) { c.JWKS = jwks }, []string{jose.RS256, jose.ES256},
			[]string{rsTok, esTok}, map[string]Reason{psTok: ReasonAlgNotAllowed}},
		{"PEM", func(c *Config) { c.PEM = k.RSAPEM }, []string{jose.RS256},
			[]string{rsNoKID}, map[string]Reason{rsTok: ReasonUnknownKID, psTok: ReasonAlgNotAllowed}},
		{"explicit Algorithms win", func(c *Config) { c.JWKS, c.Algorithms = jwks, []string{jose.ES256} }, []string{jose.ES256},
			[]string{esTok}, map[string]Reason{rsTok: ReasonAlgNotAllowed}},
		{"a source that does not list its keys", func(c *Config) { c.Keys = jose.MultiKeySource(static) },
			[]string{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA},
			[]string{rsTok}, map[string]Reason{psTok: ReasonAlgMismatch}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Keys, cfg.Algorithms = nil, nil
			tt.mod(&cfg)
			a, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.one.algs, tt.algs) {
				t.Errorf("Algorithms %v, want %v", a.one.algs, tt.algs)
			}
			for _, tok := range tt.accepted {
				if _, err := a.Verify(context.Background(), tok); err != nil {
					t.Errorf("refused a valid token: %v", err)
				}
			}
			for tok, want := range tt.refused {
				if _, err := a.Verify(context.Background(), tok); reasonOf(err) != want {
					t.Errorf("reason %q, want %q", reasonOf(err), want)
				}
			}
		})
	}
}

// A bad key source is an error naming the field (and, where there is one,
// the value).
func TestNewKeySourceErrors(t *testing.T) {
	k := fixtureKeys(t)
	static, err := jose.NewStaticKeys(mustKey(t, "rsa1", jose.RS256, &k.RSA.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mod  func(*Config)
		want []string
	}{
		{"none", func(*Config) {}, []string{"Config.Keys", "Config.JWKS", "Config.JWKSURL", "Config.PEM"}},
		{"two", func(c *Config) { c.Keys, c.PEM = static, k.RSAPEM }, []string{"Config.Keys, Config.PEM", "exactly one"}},
		{"four", func(c *Config) {
			c.Keys, c.JWKS, c.JWKSURL, c.PEM = static, []byte("{}"), "https://idp.example/jwks", k.RSAPEM
		}, []string{"Config.Keys, Config.JWKS, Config.JWKSURL, Config.PEM"}},
		{"JWKS not a set", func(c *Config) { c.JWKS = []byte("not json") }, []string{"Config.JWKS"}},
		{"JWKS empty", func(c *Config) { c.JWKS = []byte(`{"keys":[]}`) }, []string{"Config.JWKS"}},
		{"JWKS key without alg", func(c *Config) {
			c.JWKS = []byte(`{"keys":[{"kty":"oct","kid":"a","k":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"}]}`)
		}, []string{"Config.JWKS", "alg"}},
		{"PEM without keys", func(c *Config) { c.PEM = []byte("no pem here") }, []string{"Config.PEM"}},
		{"JWKSURL not https", func(c *Config) { c.JWKSURL = "http://idp.example/jwks" }, []string{"Config.JWKSURL", `"http://idp.example/jwks"`}},
		{"JWKSURL scheme", func(c *Config) { c.JWKSURL = "ftp://idp.example/jwks" }, []string{"Config.JWKSURL", "ftp"}},
		{"JWKSURL credentials not echoed", func(c *Config) { c.JWKSURL = "ftp://user:secret@idp.example/jwks?key=secret" },
			[]string{"Config.JWKSURL", `"ftp://idp.example/jwks"`}},
		{"empty static keys", func(c *Config) { c.Keys = &jose.StaticKeys{} }, []string{"Config.Algorithms"}},
		{"nil static keys", func(c *Config) { c.Keys = (*jose.StaticKeys)(nil) }, []string{"Config.Keys"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Keys, cfg.Algorithms = nil, nil
			tt.mod(&cfg)
			err := refusedConfig(t, cfg, tt.want...)
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("err %q echoes a credential of the URL", err)
			}
		})
	}
}

func TestMustNew(t *testing.T) {
	if a := MustNew(testConfig(t)); a == nil {
		t.Fatal("MustNew returned nil")
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(error).Error(), "Config.Issuer") {
			t.Fatalf("panic %v, want the error naming Config.Issuer", r)
		}
	}()
	cfg := testConfig(t)
	cfg.Issuer = ""
	MustNew(cfg)
}

// Failures is told of refusals of the client's credentials only: not of a
// request without any, not of a 503.
func TestFailures(t *testing.T) {
	k := fixtureKeys(t)
	valid := signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON())
	bad := signJSON(t, jose.RS256, k.RSAOther, hdrRS, claimsJSON())
	tests := []struct {
		name    string
		gmod    func(*Config)
		auth    string
		status  int
		counted int
	}{
		{"valid", nil, "Bearer " + valid, 200, 0},
		{"no credentials", nil, "", 401, 0},
		{"bad signature", nil, "Bearer " + bad, 401, 1},
		{"malformed", nil, "Bearer a b", 400, 1},
		{"keys unavailable", func(c *Config) { c.Keys = &countingKeys{err: jose.ErrKeysUnavailable} }, "Bearer " + valid, 503, 0},
		{"revocation unavailable", func(c *Config) { c.Revocation = failingRevocation{} }, "Bearer " + valid, 503, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			failures := &failureLog{}
			a := newTestAuth(t, func(c *Config) { c.Failures = failures }, tt.gmod)
			h := a.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			r := httptest.NewRequest("GET", "/", nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.status || failures.n != tt.counted {
				t.Fatalf("status %d, counted %d; want %d, %d", rec.Code, failures.n, tt.status, tt.counted)
			}
		})
	}
}
