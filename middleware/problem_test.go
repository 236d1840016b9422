package middleware

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// A 503 (the gate cannot decide) is an RFC 9457 problem for a client that
// asks for one, and stays the RFC 6750-style JSON body for everyone else;
// 401s never change shape, their body is the OAuth contract.
func TestWriteErrorProblemDetails(t *testing.T) {
	unavailable := func() *Error {
		e := newError(ReasonKeysUnavailable, nil)
		e.RetryAfter = 7 * time.Second
		return e
	}
	tests := []struct {
		name    string
		accept  string
		err     *Error
		ctype   string
		wantKey string // a member the body must have
	}{
		{"503 problem preferred", "application/problem+json", unavailable(), "application/problem+json", "type"},
		{"503 problem with json fallback", "application/problem+json, application/json;q=0.5", unavailable(), "application/problem+json", "type"},
		{"503 json preferred", "application/json, application/problem+json;q=0.5", unavailable(), "application/json", "error"},
		{"503 no accept", "", unavailable(), "application/json", "error"},
		{"503 any", "*/*", unavailable(), "application/json", "error"},
		{"401 problem asked", "application/problem+json", newError(ReasonBadSignature, nil), "application/json", "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.accept != "" {
				r.Header.Set("Accept", tt.accept)
			}
			w := httptest.NewRecorder()
			WriteError(w, r, tt.err)
			if got := w.Header().Get("Content-Type"); got != tt.ctype {
				t.Fatalf("Content-Type = %q, want %q", got, tt.ctype)
			}
			if w.Code != tt.err.Status {
				t.Fatalf("status = %d, want %d", w.Code, tt.err.Status)
			}
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", w.Body.String(), err)
			}
			if _, ok := body[tt.wantKey]; !ok {
				t.Fatalf("body %s has no %q", w.Body.String(), tt.wantKey)
			}
			if tt.ctype == "application/problem+json" {
				if body["type"] != "https://iana.org/assignments/http-problem-types#temporary-reduced-capacity" || body["status"] != float64(503) {
					t.Fatalf("problem = %s", w.Body.String())
				}
			}
			if tt.err.Status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") != "7" {
				t.Fatalf("Retry-After = %q, want 7", w.Header().Get("Retry-After"))
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Fatalf("Cache-Control = %q", w.Header().Get("Cache-Control"))
			}
		})
	}
	// A custom ErrorWriter may call WriteError without a request.
	w := httptest.NewRecorder()
	WriteError(w, nil, unavailable())
	if w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("nil request: Content-Type = %q", w.Header().Get("Content-Type"))
	}
}
