package headers

import (
	"strings"
	"testing"
)

func TestMustNew(t *testing.T) {
	badCSP := API()
	badCSP.ContentSecurityPolicy = "default-src 'none'\r\nSet-Cookie: a=b"
	badSTS := API()
	badSTS.STSSeconds = -1
	tests := []struct {
		name  string
		o     Options
		field string // named in the panic; empty: no panic
	}{
		{"API", API(), ""},
		{"Web", Web(), ""},
		{"zero value", Options{}, ""},
		{"header injection", badCSP, "ContentSecurityPolicy"},
		{"negative STSSeconds", badSTS, "STSSeconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, wantErr := New(tt.o)
			defer func() {
				got := recover()
				if tt.field == "" {
					if got != nil {
						t.Fatalf("MustNew panicked: %v", got)
					}
					return
				}
				err, ok := got.(error)
				if !ok || wantErr == nil || err.Error() != wantErr.Error() || !strings.Contains(err.Error(), tt.field) {
					t.Fatalf("MustNew panicked with %v, want New's error %v naming %s", got, wantErr, tt.field)
				}
			}()
			if h := MustNew(tt.o); h == nil {
				t.Fatal("MustNew returned nil")
			}
		})
	}
}
