package auditlog

import (
	"strings"
	"testing"
)

func TestMustNewRequestLogger(t *testing.T) {
	tests := []struct {
		name  string
		l     *Logger
		o     RequestLogOptions
		field string // named in the panic; empty: no panic
	}{
		{"zero options, nil logger", nil, RequestLogOptions{}, ""},
		{"custom header", New(nil, Options{}), RequestLogOptions{HeaderName: "X-Correlation-ID"}, ""},
		{"header with a space", nil, RequestLogOptions{HeaderName: "X Request"}, "HeaderName"},
		{"header with CR LF", nil, RequestLogOptions{HeaderName: "X-ID\r\n"}, "HeaderName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, want := NewRequestLogger(tt.l, tt.o)
			var rl *RequestLogger
			got := func() (v any) {
				defer func() { v = recover() }()
				rl = MustNewRequestLogger(tt.l, tt.o)
				return nil
			}()
			if tt.field == "" {
				if got != nil || rl == nil {
					t.Fatalf("MustNewRequestLogger = %v, panic %v", rl, got)
				}
				return
			}
			err, _ := got.(error)
			if want == nil || err == nil || err.Error() != want.Error() || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("MustNewRequestLogger panicked with %v, want NewRequestLogger's error %v naming %s", got, want, tt.field)
			}
		})
	}
}
