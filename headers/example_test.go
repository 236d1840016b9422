package headers_test

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/apiguard/apiguard/headers"
)

func ExampleAPI() {
	h, err := headers.New(headers.API())
	if err != nil {
		panic(err)
	}
	api := h.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "unauthorized", http.StatusUnauthorized) // errors carry the headers too
	}))

	r := httptest.NewRequest(http.MethodGet, "https://api.example.com/api/me", nil)
	r.TLS = &tls.ConnectionState{} // as if served over HTTPS
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, r)

	for _, k := range []string{"Content-Security-Policy", "X-Frame-Options", "Cache-Control", "Strict-Transport-Security"} {
		fmt.Printf("%s: %s\n", k, rec.Header().Get(k))
	}
	// Output:
	// Content-Security-Policy: default-src 'none'; frame-ancestors 'none'
	// X-Frame-Options: DENY
	// Cache-Control: no-store
	// Strict-Transport-Security: max-age=63072000; includeSubDomains
}

func ExampleNonce() {
	o := headers.Web()
	o.ConnectSrc = []string{"https://api.example.com"}
	h, err := headers.New(o)
	if err != nil {
		panic(err)
	}
	page := h.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nonce, _ := headers.Nonce(r.Context())
		fmt.Fprintf(w, `<script nonce="%s" src="/app.js"></script>`, nonce)
	}))

	rec := httptest.NewRecorder()
	page.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://app.example.com/", nil))

	csp := rec.Header().Get("Content-Security-Policy")
	nonce := strings.Split(rec.Body.String(), `"`)[1]
	fmt.Println(strings.Contains(csp, "script-src 'nonce-"+nonce+"' 'strict-dynamic'"))
	fmt.Println(strings.Contains(csp, "connect-src 'self' https://api.example.com"))
	fmt.Println(rec.Header().Get("Strict-Transport-Security") == "") // plain HTTP: no HSTS
	// Output:
	// true
	// true
	// true
}

// MustNew suits a literal configuration, where an error would be a bug.
func ExampleMustNew() {
	h := headers.MustNew(headers.API())
	rec := httptest.NewRecorder()
	h.Handler(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/missing", nil))
	fmt.Println(rec.Code, rec.Header().Get("X-Content-Type-Options"), rec.Header().Get("Referrer-Policy"))
	// Output:
	// 404 nosniff no-referrer
}
