package middleware

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apiguard/apiguard/middleware/jose"
)

// TestStepUp checks RFC 9470 through the gate (the clock is the
// Authenticator's unless StepUp.Now is set).
func TestStepUp(t *testing.T) {
	k := fixtureKeys(t)
	tok := func(over ...string) string { return signJSON(t, jose.RS256, k.RSA, hdrRS, claimsJSON(over...)) }
	gold := tok("acr", `"gold"`, "auth_time", unix(-2*time.Minute))
	silver := tok("acr", `"silver"`, "auth_time", unix(-2*time.Minute))
	old := tok("acr", `"gold"`, "auth_time", unix(-time.Hour))
	future := tok("acr", `"gold"`, "auth_time", unix(time.Hour))
	plain := tok()
	const (
		acrDesc = `error="insufficient_user_authentication", error_description="a different authentication level is required"`
		ageDesc = `error="insufficient_user_authentication", error_description="more recent authentication is required"`
	)
	acr := StepUp{ACR: []string{"gold", "platinum"}}
	age := StepUp{MaxAge: 5 * time.Minute}
	both := StepUp{ACR: []string{"gold"}, MaxAge: 5 * time.Minute}
	tests := []struct {
		name   string
		s      StepUp
		token  string
		status int
		www    string
	}{
		{"acr among the set", acr, gold, 200, ""},
		{"acr not among the set", acr, silver, 401, `Bearer realm="api", ` + acrDesc + `, acr_values="gold platinum"`},
		{"acr absent", acr, plain, 401, `Bearer realm="api", ` + acrDesc + `, acr_values="gold platinum"`},
		{"recent enough", age, gold, 200, ""},
		{"too old", age, old, 401, `Bearer realm="api", ` + ageDesc + `, max_age="300"`},
		{"auth_time absent", age, plain, 401, `Bearer realm="api", ` + ageDesc + `, max_age="300"`},
		{"auth_time in the future", age, future, 401, `Bearer realm="api", ` + ageDesc + `, max_age="300"`},
		{"both met", both, gold, 200, ""},
		{"both, acr short", both, silver, 401, `Bearer realm="api", ` + acrDesc + `, acr_values="gold", max_age="300"`},
		{"both, too old", both, old, 401, `Bearer realm="api", ` + ageDesc + `, acr_values="gold", max_age="300"`},
		{"own clock, an hour later", StepUp{MaxAge: 5 * time.Minute, Now: func() time.Time { return t0.Add(time.Hour) }}, gold, 401,
			`Bearer realm="api", ` + ageDesc + `, max_age="300"`},
		{"own realm", StepUp{ACR: []string{"gold"}, GuardOptions: GuardOptions{Realm: "orders"}}, silver, 401,
			`Bearer realm="orders", ` + acrDesc + `, acr_values="gold"`},
		{"no claims", acr, "", 401, `Bearer realm="api"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestGate(t, func(c *Config) { c.Optional = true })
			called := false
			h := a.Handler(RequireStepUp(tt.s)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called = true })))
			r := httptest.NewRequest("GET", "/transfer", nil)
			if tt.token != "" {
				r.Header.Set("Authorization", "Bearer "+tt.token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.status || called != (tt.status == 200) {
				t.Fatalf("status %d called %v, want %d", rec.Code, called, tt.status)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tt.www {
				t.Fatalf("WWW-Authenticate %q\nwant %q", got, tt.www)
			}
		})
	}
}

func TestStepUpConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		s     StepUp
		field string
	}{
		{"nothing required", StepUp{}, "StepUp requires nothing"},
		{"empty acr", StepUp{ACR: []string{"gold", ""}}, "StepUp.ACR[1]"},
		{"acr with a space", StepUp{ACR: []string{"a b"}}, "StepUp.ACR[0]"},
		{"acr with a quote", StepUp{ACR: []string{`a"`}}, "StepUp.ACR[0]"},
		{"negative max age", StepUp{MaxAge: -time.Second}, "StepUp.MaxAge"},
		{"fractional max age", StepUp{MaxAge: 1500 * time.Millisecond}, "StepUp.MaxAge"},
		{"bad realm", StepUp{MaxAge: time.Minute, GuardOptions: GuardOptions{Realm: `a"b`}}, "StepUp.Realm"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewStepUp(tt.s); err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("err = %v, want one naming %s", err, tt.field)
			}
			defer func() {
				if recover() == nil {
					t.Fatal("RequireStepUp did not panic")
				}
			}()
			RequireStepUp(tt.s)
		})
	}
}
