package middleware

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestGuards(t *testing.T) {
	c := &Claims{Subject: "u", Roles: []string{"user", "admin"}, Scopes: []string{"read", "write"}}
	tests := []struct {
		name   string
		mw     func(http.Handler) http.Handler
		claims *Claims
		status int
		scope  string
	}{
		{"role present", RequireRoles("admin"), c, 200, ""},
		{"all roles present", RequireRoles("user", "admin"), c, 200, ""},
		{"role missing", RequireRoles("root"), c, 403, "root"},
		{"one of two roles missing", RequireRoles("admin", "root"), c, 403, "admin root"},
		{"no claims", RequireRoles("admin"), nil, 401, ""},
		{"scope present", RequireScopes("read"), c, 200, ""},
		{"scope missing", RequireScopes("read", "delete"), c, 403, "read delete"},
		{"role is not a scope", RequireScopes("admin"), c, 403, "admin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			h := tt.mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called = true }))
			r := httptest.NewRequest("GET", "/", nil)
			if tt.claims != nil {
				r = r.WithContext(WithClaims(r.Context(), tt.claims))
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.status || called != (tt.status == 200) {
				t.Fatalf("status %d called %v", rec.Code, called)
			}
			www := rec.Header().Get("WWW-Authenticate")
			switch tt.status {
			case 403:
				want := `Bearer realm="api", error="insufficient_scope", error_description="insufficient scope", scope="` + tt.scope + `"`
				if www != want {
					t.Fatalf("WWW-Authenticate %q, want %q", www, want)
				}
			case 401:
				if www != `Bearer realm="api"` {
					t.Fatalf("WWW-Authenticate %q", www)
				}
			}
		})
	}
}

func TestGuardPanicsOnBadConfig(t *testing.T) {
	for _, roles := range [][]string{nil, {""}, {"a b"}, {`a"b`}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RequireRoles(%q) did not panic", roles)
				}
			}()
			RequireRoles(roles...)
		}()
	}
}

func TestGuardCustomWriter(t *testing.T) {
	var got *Error
	mw := RequireScopesWith(GuardOptions{Realm: "r", ErrorWriter: func(w http.ResponseWriter, r *http.Request, e *Error) {
		got = e
		w.WriteHeader(403)
	}}, "x")
	r := httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(WithClaims(r.Context(), &Claims{}))
	mw(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), r)
	if got == nil || got.Reason != ReasonInsufficientScope || got.Scope != "x" || got.Realm != "r" {
		t.Fatalf("%+v", got)
	}
}

func TestChain(t *testing.T) {
	var order []string
	mw := func(name string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				order = append(order, name)
				next.ServeHTTP(w, r)
			})
		}
	}
	h := Chain(mw("a"), nil, mw("b"), mw("c"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		order = append(order, "h")
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if got := strings.Join(order, ""); got != "abch" {
		t.Fatalf("order %q, want abch", got)
	}
}

func TestClaimsFromContext(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	if _, ok := ClaimsFromContext(r.Context()); ok {
		t.Fatal("claims in an empty context")
	}
	if _, ok := ClaimsFromContext(WithClaims(r.Context(), nil)); ok {
		t.Fatal("nil claims reported as present")
	}
	c := &Claims{Subject: "s"}
	if got, ok := ClaimsFromContext(WithClaims(r.Context(), c)); !ok || got != c {
		t.Fatal("claims not found")
	}
}

func TestWriteErrorSanitizes(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, nil, &Error{Status: 401, Code: "invalid_token", Description: "bad\"desc\n", Realm: "a\"b"})
	if www := rec.Header().Get("WWW-Authenticate"); www != `Bearer realm="api", error="invalid_token"` {
		t.Fatalf("WWW-Authenticate %q", www)
	}
	var body struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error != "invalid_token" || body.ErrorDescription != "bad\"desc\n" {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	if strings.Count(rec.Body.String(), "\n") != 1 || !strings.HasSuffix(rec.Body.String(), "}\n") {
		t.Fatalf("body %q: one line of JSON expected", rec.Body.String())
	}
}
