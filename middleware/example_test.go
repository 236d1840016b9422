package middleware_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/apiguard/apiguard/middleware"
)

// exampleToken signs an HS256 access token for the examples. Real
// deployments verify asymmetric tokens (RS256, ES256, EdDSA) from an issuer.
func exampleToken(secret []byte, claims string) string {
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(`{"alg":"HS256","kid":"k1","typ":"at+jwt"}`)) + "." + enc.EncodeToString([]byte(claims))
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + enc.EncodeToString(m.Sum(nil))
}

func exampleAuthenticator(secret []byte, now time.Time) *middleware.Authenticator {
	key, err := middleware.NewKey("k1", middleware.HS256, secret)
	if err != nil {
		panic(err)
	}
	keys, err := middleware.NewStaticKeys(key)
	if err != nil {
		panic(err)
	}
	gate, err := middleware.NewGate(middleware.GateConfig{
		Keys:       keys,
		Algorithms: []string{middleware.HS256},
		Issuer:     "https://issuer.example",
		Audience:   "orders-api",
		Now:        func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}
	auth, err := middleware.NewAuthenticator(middleware.AuthConfig{Gate: gate, Realm: "orders"})
	if err != nil {
		panic(err)
	}
	return auth
}

func ExampleNewAuthenticator() {
	secret := []byte("an-example-secret-of-32-bytes-at-least!")
	now := time.Unix(1_800_000_000, 0)
	auth := exampleAuthenticator(secret, now)

	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := middleware.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", c.Subject)
	})
	h := auth.Handler(me)

	token := exampleToken(secret, `{"iss":"https://issuer.example","sub":"alice","aud":"orders-api","exp":1800000600,"iat":1800000000}`)
	r := httptest.NewRequest("GET", "/me", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println(rec.Code, rec.Body.String())

	expired := exampleToken(secret, `{"iss":"https://issuer.example","sub":"alice","aud":"orders-api","exp":1700000000}`)
	r.Header.Set("Authorization", "Bearer "+expired)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	fmt.Print(rec.Body.String())

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/me", nil))
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	// Output:
	// 200 hello alice
	// 401 Bearer realm="orders", error="invalid_token", error_description="token expired"
	// {"error":"invalid_token","error_description":"token expired"}
	// 401 Bearer realm="orders"
}

func ExampleRequireRoles() {
	secret := []byte("an-example-secret-of-32-bytes-at-least!")
	auth := exampleAuthenticator(secret, time.Unix(1_800_000_000, 0))
	admin := middleware.Chain(auth.Handler, middleware.RequireRoles("admin"))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "welcome, admin") }))

	for _, roles := range []string{`["user","admin"]`, `["user"]`} {
		token := exampleToken(secret, `{"iss":"https://issuer.example","sub":"bob","aud":"orders-api","exp":1800000600,"roles":`+roles+`}`)
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

func ExampleGate_Verify() {
	secret := []byte("an-example-secret-of-32-bytes-at-least!")
	key, _ := middleware.NewKey("k1", middleware.HS256, secret)
	keys, _ := middleware.NewStaticKeys(key)
	gate, err := middleware.NewGate(middleware.GateConfig{
		Keys: keys, Algorithms: []string{middleware.HS256},
		Issuer: "https://issuer.example", Audience: "orders-api",
		Now: func() time.Time { return time.Unix(1_800_000_000, 0) },
	})
	if err != nil {
		panic(err)
	}
	token := exampleToken(secret, `{"iss":"https://issuer.example","sub":"carol","aud":["orders-api"],"exp":1800000600,"scope":"orders:read orders:write","tenant":"acme"}`)
	c, err := gate.Verify(context.Background(), token)
	if err != nil {
		panic(err)
	}
	tenant, _ := c.Get("tenant")
	fmt.Println(c.Subject, c.Scopes, c.HasScope("orders:write"), string(tenant))

	_, err = gate.Verify(context.Background(), "not.a.token")
	var e *middleware.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Reason, e.Description)
	}
	// Output:
	// carol [orders:read orders:write] true "acme"
	// 401 bad_base64 invalid token
}
