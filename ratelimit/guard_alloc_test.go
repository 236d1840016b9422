package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The lockout check runs on every authenticated request: with the identity
// already in the request's context (the Identifier's Handler), it must not
// allocate.
func TestGuardCheckTokenAllocs(t *testing.T) {
	id := MustNewIdentifier(IdentityConfig{Secret: make([]byte, 32)})
	g := MustNewGuard(GuardConfig{Identifier: id})
	var allocs float64 = -1
	h := id.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, locked, err := g.CheckToken(r); locked || err != nil {
			t.Errorf("CheckToken = %v, %v", locked, err)
		}
		allocs = testing.AllocsPerRun(100, func() { _, _, _ = g.CheckToken(r) })
	}))
	r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	r.Header.Set("User-Agent", "test")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if allocs != 0 {
		t.Fatalf("CheckToken allocates %v times per call, want 0", allocs)
	}
}
