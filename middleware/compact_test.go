package middleware

import "testing"

// TestParseCompactReasons checks that each fault of internal/compact (whose
// own tests cover the parser) reaches the gate as its reason.
func TestParseCompactReasons(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want Reason
	}{
		{"ok", "e30.e30.AAAA", 100, ""},
		{"too large", "e30.e30.AAAA", 11, ReasonTokenTooLarge},
		{"three dots", "e30.e30.AAAA.AAAA", 100, ReasonMalformed},
		{"padding", "e30=.e30.AAAA", 100, ReasonBadBase64},
		{"unused bits", "e31.e30.AAAA", 100, ReasonBadBase64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, reason := parseCompact(tt.in, tt.max, b64)
			if reason != tt.want {
				t.Fatalf("reason %q, want %q", reason, tt.want)
			}
			if reason == "" && (c.header != "{}" || c.payload != "{}" || len(c.sig) != 3 || string(c.signingInput) != "e30.e30") {
				t.Fatalf("parts %+v", c)
			}
		})
	}
}
