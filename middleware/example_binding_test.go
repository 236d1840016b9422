package middleware_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/apiguard/apiguard/internal/dpoptest"
	"github.com/apiguard/apiguard/middleware"
	"github.com/apiguard/apiguard/middleware/dpop"
	"github.com/apiguard/apiguard/middleware/jose"
)

// Protected-resource metadata (RFC 9728): the document at its well-known
// path, and resource_metadata on every challenge, so that a client (an MCP
// client, for one) finds the authorization server from a 401 alone.
func ExampleAuthenticator_MetadataHandler() {
	const resource = "https://api.example/orders"
	auth := middleware.MustNew(middleware.Config{
		PEM: examplePEM(), Issuer: "https://issuer.example", Audience: "orders-api",
		Resource: resource,
		ResourceMetadata: &middleware.ResourceMetadata{
			AuthorizationServers: []string{"https://issuer.example"},
			ScopesSupported:      []string{"orders:read", "orders:write"},
		},
	})
	defer auth.Close()

	mux := http.NewServeMux()
	mux.Handle("GET "+middleware.ResourceMetadataPath(resource), auth.MetadataHandler())
	mux.Handle("/orders", auth.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/orders", nil))
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))

	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/oauth-protected-resource/orders", nil))
	fmt.Print(rec.Code, " ", rec.Header().Get("Content-Type"), " ", rec.Body.String())
	// Output:
	// 401 Bearer realm="api", resource_metadata="https://api.example/.well-known/oauth-protected-resource/orders"
	// 200 application/json {"resource":"https://api.example/orders","authorization_servers":["https://issuer.example"],"scopes_supported":["orders:read","orders:write"],"bearer_methods_supported":["header"],"tls_client_certificate_bound_access_tokens":false,"dpop_bound_access_tokens_required":false}
}

// Step-up (RFC 9470): a route that needs a stronger or a more recent login
// than the token shows answers insufficient_user_authentication, naming
// what the client must ask the authorization server for.
func ExampleRequireStepUp() {
	now := time.Unix(1_800_000_000, 0)
	auth := exampleAuthenticator(now)
	transfer := middleware.Chain(auth.Handler,
		middleware.RequireStepUp(middleware.StepUp{ACR: []string{"phr"}, MaxAge: 10 * time.Minute}))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "transfer done") }))

	for _, login := range []string{
		`"acr":"phr","auth_time":1799999700`, // phishing-resistant, 5 minutes ago
		`"acr":"pwd","auth_time":1799999700`, // a password only
		`"acr":"phr","auth_time":1799990000`, // phishing-resistant, hours ago
	} {
		token := exampleToken(`{"iss":"https://issuer.example","sub":"dave","aud":"orders-api","exp":1800000600,` + login + `}`)
		r := httptest.NewRequest("POST", "/transfer", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		transfer.ServeHTTP(rec, r)
		fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body.String())
	}
	// Output:
	// 200  transfer done
	// 401 Bearer realm="orders", error="insufficient_user_authentication", error_description="a different authentication level is required", acr_values="phr", max_age="600" {"error":"insufficient_user_authentication","error_description":"a different authentication level is required"}
	//
	// 401 Bearer realm="orders", error="insufficient_user_authentication", error_description="more recent authentication is required", acr_values="phr", max_age="600" {"error":"insufficient_user_authentication","error_description":"more recent authentication is required"}
}

// DPoP (RFC 9449): an Authenticator with a DPoP verifier accepts tokens
// bound to the client's key (cnf.jkt) with the DPoP scheme and a fresh
// proof, and refuses such a token presented as a plain Bearer token.
func ExampleConfig_dPoP() {
	now := time.Unix(1_800_000_000, 0)
	clientKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // the client's, never sent
	jkt, _ := jose.Thumbprint(&clientKey.PublicKey)

	verifier, err := dpop.New(dpop.Config{
		PublicURL: "https://api.example", // the URL clients use, for htu
		Now:       func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}
	auth := middleware.MustNew(middleware.Config{
		PEM: examplePEM(), Issuer: "https://issuer.example", Audience: "orders-api",
		DPoP: verifier,
		Now:  func() time.Time { return now },
	})
	defer auth.Close()
	api := auth.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := middleware.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "hello %s, key %t", c.Subject, c.Confirmation.JKT == jkt)
	}))

	token := exampleToken(`{"iss":"https://issuer.example","sub":"erin","aud":"orders-api","exp":1800000600,"cnf":{"jkt":"` + jkt + `"}}`)
	proof := dpoptest.NewProof(clientKey, "ES256", "GET", "https://api.example/orders",
		dpoptest.AccessToken(token), dpoptest.IssuedAt(now))
	for _, scheme := range []string{"DPoP", "Bearer"} {
		r := httptest.NewRequest("GET", "https://api.example/orders?page=2", nil)
		r.Header.Set("Authorization", scheme+" "+token)
		if scheme == "DPoP" {
			r.Header.Set("DPoP", proof)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, r)
		fmt.Println(rec.Code, rec.Body.String())
		for _, ch := range rec.Header().Values("WWW-Authenticate") {
			fmt.Println(ch)
		}
	}
	// Output:
	// 200 hello erin, key true
	// 401 {"error":"invalid_token","error_description":"DPoP-bound token presented without DPoP"}
	//
	// Bearer realm="api", error="invalid_token", error_description="DPoP-bound token presented without DPoP"
	// DPoP realm="api", algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA Ed25519"
}
