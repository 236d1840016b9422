package problem_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/apiguard/apiguard/internal/problem"
)

// A 503 answered with problem details to a client that asks for them, and
// with the default JSON body to one that does not.
func Example() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "1")
		if problem.Prefers(r) {
			problem.Write(w, problem.Details{
				Type:   problem.TypeTemporaryReducedCapacity,
				Title:  "Service temporarily unavailable",
				Status: http.StatusServiceUnavailable,
			})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, `{"error":"temporarily_unavailable","error_description":"try again later"}`)
	})
	for _, accept := range []string{"application/problem+json", "*/*"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept", accept)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		fmt.Print(rec.Code, " ", rec.Header().Get("Content-Type"), " ", rec.Body.String())
	}
	// Output:
	// 503 application/problem+json {"type":"https://iana.org/assignments/http-problem-types#temporary-reduced-capacity","title":"Service temporarily unavailable","status":503}
	// 503 application/json {"error":"temporarily_unavailable","error_description":"try again later"}
}
