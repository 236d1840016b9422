package cors

import (
	"net/http"
	"testing"
)

// benchWriter is a ResponseWriter that costs nothing, so benchmarks measure
// the middleware and not httptest.ResponseRecorder.
type benchWriter struct {
	h    http.Header
	code int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })

func benchmark(b *testing.B, h http.Handler, r *http.Request, want int) {
	w := &benchWriter{h: make(http.Header, 8)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
	if w.code != want {
		b.Fatalf("status %d, want %d", w.code, want)
	}
}

func benchPolicy(b *testing.B) http.Handler {
	c, err := New(Policy{
		AllowedOrigins:      []string{"https://app.example.com", "https://admin.example.com", "http://localhost:8081"},
		AllowOriginPatterns: []string{"https://*.example.org"},
	})
	if err != nil {
		b.Fatal(err)
	}
	return c.Handler(okHandler)
}

func request(method, origin string, hdr ...string) *http.Request {
	r, _ := http.NewRequest(method, "https://api.example.com/api/me", nil)
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	return r
}

func BenchmarkBare(b *testing.B) {
	benchmark(b, okHandler, request("GET", "https://app.example.com"), 200)
}

func BenchmarkActualNoOrigin(b *testing.B) {
	benchmark(b, benchPolicy(b), request("GET", ""), 200)
}

func BenchmarkActualAllowed(b *testing.B) {
	benchmark(b, benchPolicy(b), request("GET", "https://app.example.com"), 200)
}

func BenchmarkActualPattern(b *testing.B) {
	benchmark(b, benchPolicy(b), request("GET", "https://app.example.org"), 200)
}

func BenchmarkActualDisallowed(b *testing.B) {
	benchmark(b, benchPolicy(b), request("GET", "https://evil.test"), 200)
}

func BenchmarkPreflightAllowed(b *testing.B) {
	benchmark(b, benchPolicy(b), request("OPTIONS", "https://app.example.com",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type"), 204)
}

func BenchmarkPreflightRejected(b *testing.B) {
	benchmark(b, benchPolicy(b), request("OPTIONS", "https://evil.test",
		"Access-Control-Request-Method", "POST"), 403)
}
