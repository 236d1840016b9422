package middleware_test

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/apiguard/apiguard/middleware"
	"github.com/go-chi/chi/v5"
)

// exampleKey is the identity provider's signing key in the examples (a
// fixed seed, so that the output is stable; use a real key).
var exampleKey = ed25519.NewKeyFromSeed([]byte("an example seed, not a real key!"))

// examplePEM is what a resource server is given: the provider's public key.
func examplePEM() []byte {
	der, err := x509.MarshalPKIXPublicKey(exampleKey.Public())
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// exampleToken signs an EdDSA access token, as the provider would.
func exampleToken(claims string) string {
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(`{"alg":"EdDSA","typ":"at+jwt"}`)) + "." + enc.EncodeToString([]byte(claims))
	return input + "." + enc.EncodeToString(ed25519.Sign(exampleKey, []byte(input)))
}

// exampleAuthenticator accepts the provider's tokens: one key, given as
// PEM, so Algorithms defaults to that key's EdDSA.
func exampleAuthenticator(now time.Time) *middleware.Authenticator {
	return middleware.MustNew(middleware.Config{
		PEM:      examplePEM(),
		Issuer:   "https://issuer.example",
		Audience: "orders-api",
		Realm:    "orders",
		Now:      func() time.Time { return now },
	})
}

// One constructor from the keys you have, and one line on chi.
func ExampleNew() {
	auth := middleware.MustNew(middleware.Config{
		PEM:      examplePEM(), // or JWKS: a JWK Set, or JWKSURL: its URL, or Keys
		Issuer:   "https://issuer.example",
		Audience: "orders-api",
		Realm:    "orders",
		Now:      func() time.Time { return time.Unix(1_800_000_000, 0) },
	})
	defer auth.Close()

	r := chi.NewRouter()
	r.Use(auth.Handler)
	r.Get("/me", func(w http.ResponseWriter, r *http.Request) {
		c, _ := middleware.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", c.Subject)
	})

	for _, token := range []string{
		exampleToken(`{"iss":"https://issuer.example","sub":"alice","aud":"orders-api","exp":1800000600,"iat":1800000000}`),
		exampleToken(`{"iss":"https://issuer.example","sub":"alice","aud":"orders-api","exp":1700000000}`),
	} {
		req := httptest.NewRequest("GET", "/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body.String())
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/me", nil))
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	// Output:
	// 200  hello alice
	// 401 Bearer realm="orders", error="invalid_token", error_description="token expired" {"error":"invalid_token","error_description":"token expired"}
	//
	// 401 Bearer realm="orders"
}

func ExampleRequireRoles() {
	auth := exampleAuthenticator(time.Unix(1_800_000_000, 0))
	admin := middleware.Chain(auth.Handler, middleware.RequireRoles("admin"))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "welcome, admin") }))

	for _, roles := range []string{`["user","admin"]`, `["user"]`} {
		token := exampleToken(`{"iss":"https://issuer.example","sub":"bob","aud":"orders-api","exp":1800000600,"roles":` + roles + `}`)
		r := httptest.NewRequest("GET", "/admin", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		admin.ServeHTTP(rec, r)
		fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body.String())
	}
	// Output:
	// 200  welcome, admin
	// 403 Bearer realm="api", error="insufficient_scope", error_description="insufficient scope", scope="admin" {"error":"insufficient_scope","error_description":"insufficient scope"}
}

func ExampleAuthenticator_Verify() {
	auth := exampleAuthenticator(time.Unix(1_800_000_000, 0))
	token := exampleToken(`{"iss":"https://issuer.example","sub":"carol","aud":["orders-api"],"exp":1800000600,"scope":"orders:read orders:write","tenant":"acme"}`)
	c, err := auth.Verify(context.Background(), token)
	if err != nil {
		panic(err)
	}
	tenant, _ := c.Get("tenant")
	fmt.Println(c.Subject, c.Scopes, c.HasScope("orders:write"), string(tenant))

	_, err = auth.Verify(context.Background(), "not.a.token")
	var e *middleware.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Reason, e.Description)
	}
	// Output:
	// carol [orders:read orders:write] true "acme"
	// 401 bad_base64 invalid token
}
