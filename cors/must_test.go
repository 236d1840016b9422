package cors

import (
	"strings"
	"testing"
	"time"
)

func TestMustNew(t *testing.T) {
	tests := []struct {
		name  string
		p     Policy
		field string // named in the panic; empty: no panic
	}{
		{"zero policy", Policy{}, ""},
		{"one HTTPS origin", Policy{AllowedOrigins: []string{"https://app.example.com"}, AllowCredentials: true}, ""},
		{"star with credentials", Policy{AllowedOrigins: []string{"*"}, AllowCredentials: true}, "AllowedOrigins"},
		{"plain-HTTP pattern", Policy{AllowOriginPatterns: []string{"http://*.example.com"}}, "AllowOriginPatterns"},
		{"sub-second MaxAge", Policy{MaxAge: 1500 * time.Millisecond}, "MaxAge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, panicked := mustNew(tt.p)
			_, err := New(tt.p)
			switch {
			case tt.field == "" && (panicked != nil || c == nil):
				t.Fatalf("MustNew = %v, panic %v", c, panicked)
			case tt.field != "" && (err == nil || panicked != err.Error() || !strings.Contains(err.Error(), tt.field)):
				t.Fatalf("MustNew panicked with %v, want New's error %v naming %s", panicked, err, tt.field)
			}
		})
	}
}

// mustNew calls MustNew and returns the text of the error it panicked with,
// if it did (nil otherwise).
func mustNew(p Policy) (c *CORS, panicked any) {
	defer func() {
		if v := recover(); v != nil {
			if err, ok := v.(error); ok {
				v = err.Error()
			}
			panicked = v
		}
	}()
	return MustNew(p), nil
}
