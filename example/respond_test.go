package main

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestWriteJSON checks that writeJSON's pooled buffers answer exactly what
// json.Marshal plus a newline would, one response after the other (a buffer
// that kept a previous body would show here), and that a value JSON cannot
// encode is a 500 with nothing of it sent.
func TestWriteJSON(t *testing.T) {
	long := strings.Repeat("x", maxPooledJSON+1) // a buffer too large to keep
	tests := []struct {
		name   string
		v      any
		status int
	}{
		{"me", meResponse{Sub: "alice", Roles: []string{"user"}, JTI: "j1", Exp: 1796185050}, http.StatusOK},
		{"shorter after longer", errorBody{Error: "e"}, http.StatusBadRequest},
		{"html escaped as Marshal does", map[string]string{"sub": "<a&b>"}, http.StatusOK},
		{"larger than the pool keeps", map[string]string{"sub": long}, http.StatusOK},
		{"after the large one", errorBody{Error: "x"}, http.StatusUnauthorized},
		{"unencodable", math.Inf(1), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			writeJSON(rec, tt.status, tt.v)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if tt.status == http.StatusInternalServerError {
				if got := rec.Body.String(); !strings.Contains(got, "server_error") {
					t.Fatalf("body %q, want the server_error body", got)
				}
				return
			}
			want, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if got := rec.Body.String(); got != string(want)+"\n" {
				t.Fatalf("body %.80q, want %.80q", got, string(want)+"\n")
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
}
