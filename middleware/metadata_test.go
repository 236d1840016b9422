package middleware

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apiguard/apiguard/middleware/jose"
)

func TestResourceMetadataPath(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.example":                "/.well-known/oauth-protected-resource",
		"https://api.example/":               "/.well-known/oauth-protected-resource",
		"https://api.example:8443":           "/.well-known/oauth-protected-resource",
		"https://api.example/v1/orders":      "/.well-known/oauth-protected-resource/v1/orders",
		"https://api.example/v1/":            "/.well-known/oauth-protected-resource/v1/",
		"https://api.example/a%20b":          "/.well-known/oauth-protected-resource/a%20b",
		"https://api.example/tenant?x=1":     "/.well-known/oauth-protected-resource/tenant",
		"/relative":                          "",
		"api.example/v1":                     "",
		"https://[::1]:8443/mcp":             "/.well-known/oauth-protected-resource/mcp",
		"http://localhost:8080/orders/items": "/.well-known/oauth-protected-resource/orders/items",
	} {
		if got := ResourceMetadataPath(in); got != want {
			t.Errorf("ResourceMetadataPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMetadataHandler checks the document: the fields given, and those the
// Authenticator fills from its configuration.
func TestMetadataHandler(t *testing.T) {
	a := newTestGate(t, func(c *Config) {
		c.Resource = "https://api.example/orders"
		c.MTLS = &MTLSConfig{}
		c.QueryParam = "access_token"
		c.ResourceMetadata = &ResourceMetadata{
			AuthorizationServers:  []string{"https://issuer.example"},
			ScopesSupported:       []string{"orders:read", "orders:write"},
			ResourceName:          "Orders API",
			ResourceDocumentation: "https://docs.example/orders",
			MaxAge:                10 * time.Minute,
		}
	})
	if got, want := a.ResourceMetadataURL(), "https://api.example/.well-known/oauth-protected-resource/orders"; got != want {
		t.Fatalf("ResourceMetadataURL() = %q, want %q", got, want)
	}
	h := a.MetadataHandler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", ResourceMetadataPath("https://api.example/orders"), nil))
	want := `{"resource":"https://api.example/orders","authorization_servers":["https://issuer.example"],` +
		`"scopes_supported":["orders:read","orders:write"],"bearer_methods_supported":["header","query"],` +
		`"resource_name":"Orders API","resource_documentation":"https://docs.example/orders",` +
		`"tls_client_certificate_bound_access_tokens":true,"dpop_bound_access_tokens_required":false}` + "\n"
	if rec.Code != 200 || rec.Body.String() != want {
		t.Fatalf("%d %s\nwant %s", rec.Code, rec.Body, want)
	}
	for name, v := range map[string]string{
		"Content-Type":  "application/json",
		"Cache-Control": "public, max-age=600",
	} {
		if got := rec.Header().Get(name); got != v {
			t.Errorf("%s: %q, want %q", name, got, v)
		}
	}
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("HEAD", "/", nil))
	if rec.Code != 200 || rec.Body.Len() != 0 {
		t.Fatalf("HEAD: %d, %d bytes", rec.Code, rec.Body.Len())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}

	// The defaults: only what the Authenticator knows.
	a = newTestGate(t, func(c *Config) { c.Resource = "https://api.example" })
	rec = httptest.NewRecorder()
	a.MetadataHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	want = `{"resource":"https://api.example","bearer_methods_supported":["header"],` +
		`"tls_client_certificate_bound_access_tokens":false,"dpop_bound_access_tokens_required":false}` + "\n"
	if rec.Body.String() != want || rec.Header().Get("Cache-Control") != "public, max-age=3600" {
		t.Fatalf("%s %q\nwant %s", rec.Body, rec.Header().Get("Cache-Control"), want)
	}
	if got := a.ResourceMetadataURL(); got != "https://api.example/.well-known/oauth-protected-resource" {
		t.Fatalf("ResourceMetadataURL() = %q", got)
	}

	// Without a resource: 404, and no resource_metadata.
	a = newTestGate(t, nil)
	rec = httptest.NewRecorder()
	a.MetadataHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusNotFound || a.ResourceMetadataURL() != "" {
		t.Fatalf("without Resource: %d %q", rec.Code, a.ResourceMetadataURL())
	}
}

func TestResourceConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(*Config)
		field string
	}{
		{"http resource", func(c *Config) { c.Resource = "http://api.example" }, "Config.Resource"},
		{"relative resource", func(c *Config) { c.Resource = "/orders" }, "Config.Resource"},
		{"fragment", func(c *Config) { c.Resource = "https://api.example/#x" }, "Config.Resource"},
		{"query", func(c *Config) { c.Resource = "https://api.example/?tenant=1" }, "Config.Resource"},
		{"userinfo", func(c *Config) { c.Resource = "https://u:p@api.example/" }, "Config.Resource"},
		{"metadata without resource", func(c *Config) { c.ResourceMetadata = &ResourceMetadata{} }, "Config.ResourceMetadata"},
		{"http authorization server", func(c *Config) {
			c.Resource, c.ResourceMetadata = "https://api.example", &ResourceMetadata{AuthorizationServers: []string{"http://as.example"}}
		}, "AuthorizationServers[0]"},
		{"authorization server with query", func(c *Config) {
			c.Resource, c.ResourceMetadata = "https://api.example", &ResourceMetadata{AuthorizationServers: []string{"https://as.example/?a=b"}}
		}, "AuthorizationServers[0]"},
		{"bad documentation URL", func(c *Config) {
			c.Resource, c.ResourceMetadata = "https://api.example", &ResourceMetadata{ResourceDocumentation: "docs"}
		}, "ResourceDocumentation"},
		{"body method", func(c *Config) {
			c.Resource, c.ResourceMetadata = "https://api.example", &ResourceMetadata{BearerMethodsSupported: []string{"header", "body"}}
		}, "BearerMethodsSupported[1]"},
		{"query method without QueryParam", func(c *Config) {
			c.Resource, c.ResourceMetadata = "https://api.example", &ResourceMetadata{BearerMethodsSupported: []string{"query"}}
		}, "BearerMethodsSupported[0]"},
		{"scope with a space", func(c *Config) {
			c.Resource, c.ResourceMetadata = "https://api.example", &ResourceMetadata{ScopesSupported: []string{"a b"}}
		}, "ScopesSupported[0]"},
		{"negative max age", func(c *Config) {
			c.Resource, c.ResourceMetadata = "https://api.example", &ResourceMetadata{MaxAge: -time.Second}
		}, "MaxAge"},
		{"DPoPRequired without DPoP", func(c *Config) { c.DPoPRequired = true }, "Config.DPoPRequired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			tt.mod(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("err = %v, want one naming %s", err, tt.field)
			}
		})
	}
	cfg := testConfig(t)
	cfg.Resource = "http://127.0.0.1:8080/api"
	if _, err := New(cfg); err != nil {
		t.Fatalf("http on loopback: %v", err)
	}
}

// TestResourceMetadataOnChallenges: with Config.Resource, every 401
// challenge and the 403 insufficient_scope name the metadata.
func TestResourceMetadataOnChallenges(t *testing.T) {
	k := fixtureKeys(t)
	good := signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON())
	expired := signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON("exp", unix(-time.Hour)))
	a := newTestGate(t, func(c *Config) { c.Resource = "https://api.example/orders" })
	const rm = `resource_metadata="https://api.example/.well-known/oauth-protected-resource/orders"`
	chain := func(g func(http.Handler) http.Handler) http.Handler {
		return a.Handler(g(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	}
	tests := []struct {
		name, auth string
		h          http.Handler
		status     int
		want       string
	}{
		{"no token", "", chain(RequireScopes("read")), 401, `Bearer realm="api", ` + rm},
		{"expired", "Bearer " + expired, chain(RequireScopes("read")), 401,
			`Bearer realm="api", error="invalid_token", error_description="token expired", ` + rm},
		{"insufficient scope", "Bearer " + good, chain(RequireScopes("delete")), 403,
			`Bearer realm="api", error="insufficient_scope", error_description="insufficient scope", scope="delete", ` + rm},
		{"step-up", "Bearer " + good, chain(RequireStepUp(StepUp{ACR: []string{"gold"}})), 401,
			`Bearer realm="api", error="insufficient_user_authentication", error_description="a different authentication level is required", acr_values="gold", ` + rm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/orders", nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			tt.h.ServeHTTP(rec, r)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if got := rec.Header().Values("WWW-Authenticate"); len(got) != 1 || got[0] != tt.want {
				t.Fatalf("WWW-Authenticate %q\nwant %q", got, tt.want)
			}
		})
	}
}
