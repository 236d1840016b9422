package cors_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/apiguard/apiguard/cors"
)

func ExampleNew() {
	c, err := cors.New(cors.Policy{
		AllowedOrigins:   []string{"https://app.example.com"},
		AllowCredentials: true,
	})
	if err != nil {
		panic(err)
	}
	api := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
	}))

	preflight := func(origin string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodOptions, "https://api.example.com/api/me", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", "GET")
		r.Header.Set("Access-Control-Request-Headers", "authorization")
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, r)
		return rec
	}
	ok := preflight("https://app.example.com")
	fmt.Println(ok.Code, ok.Header().Get("Access-Control-Allow-Origin"), ok.Header().Get("Access-Control-Allow-Credentials"))
	evil := preflight("https://app.example.com.evil.test")
	fmt.Println(evil.Code, evil.Header().Get("Access-Control-Allow-Origin") == "")
	// Output:
	// 204 https://app.example.com true
	// 403 true
}

func ExampleNew_unsafe() {
	_, err := cors.New(cors.Policy{AllowedOrigins: []string{"*"}, AllowCredentials: true})
	fmt.Println(err)
	_, err = cors.New(cors.Policy{AllowedOrigins: []string{"http://app.example.com"}})
	fmt.Println(err)
	// Output:
	// cors: AllowedOrigins contains "*" while AllowCredentials is set
	// cors: AllowedOrigins contains "http://app.example.com": not HTTPS and not loopback (set AllowInsecureOrigins to allow it)
}

// MustNew suits a literal policy, where an error would be a bug; it panics
// with New's error.
func ExampleMustNew() {
	c := cors.MustNew(cors.Policy{AllowedOrigins: []string{"https://app.example.com"}})
	r := httptest.NewRequest(http.MethodGet, "https://api.example.com/api/me", nil)
	r.Header.Set("Origin", "https://app.example.com")
	fmt.Println(c.Allowed(r))

	defer func() { fmt.Println("panic:", recover()) }()
	cors.MustNew(cors.Policy{AllowedOrigins: []string{"null"}})
	// Output:
	// true
	// panic: cors: AllowedOrigins contains "null": sandboxed documents and file: pages all send it, so it identifies no one
}
