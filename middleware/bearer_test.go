package middleware

import (
	"strings"
	"testing"
)

func TestBearerFromHeader(t *testing.T) {
	tests := []struct {
		in       string
		token    string
		isBearer bool
		reason   Reason
	}{
		{"Bearer abc", "abc", true, ""},
		{"bearer abc", "abc", true, ""},
		{"BeArEr   abc", "abc", true, ""},
		{"Bearer a-b.c_d~e+f/g==", "a-b.c_d~e+f/g==", true, ""},
		{"Bearer", "", true, ReasonMalformedHeader},
		{"Bearer ", "", true, ReasonMalformedHeader},
		{"Bearer =", "", true, ReasonMalformedHeader},
		{"Bearer a=b", "", true, ReasonMalformedHeader},
		{"Bearer a b", "", true, ReasonMalformedHeader},
		{"Bearer a\tb", "", true, ReasonMalformedHeader},
		{"Bearer a,", "", true, ReasonMalformedHeader},
		{"Bearer \"abc\"", "", true, ReasonMalformedHeader},
		{"Bearer ab\x00", "", true, ReasonMalformedHeader},
		{"Bearer ab\u00e9", "", true, ReasonMalformedHeader},
		{"Basic dXNlcjpwYXNz", "", false, ""},
		{"Bearerabc", "", false, ""},
		{"Bearer\tabc", "", false, ""},
		{"", "", false, ""},
		{"Bearer " + strings.Repeat("a", 100), "", true, ReasonTokenTooLarge},
		{"Basic " + strings.Repeat("a", 1000), "", false, ""},
		{"Bearer " + strings.Repeat(" ", 200) + "a", "", true, ReasonTokenTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.in[:min(len(tt.in), 30)], func(t *testing.T) {
			tok, isBearer, reason := bearerFromHeader(tt.in, 64)
			if tok != tt.token || isBearer != tt.isBearer || reason != tt.reason {
				t.Fatalf("bearerFromHeader(%q) = %q, %v, %q; want %q, %v, %q", tt.in, tok, isBearer, reason, tt.token, tt.isBearer, tt.reason)
			}
		})
	}
}

// FuzzBearer checks the extraction never panics, and that a token it returns
// is a b64token taken verbatim from the end of the value.
func FuzzBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  a.b.c", "Basic x", "Bearer", "Bearer a=b", "Bearer ==", "BEARER x~+/=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tok, isBearer, reason := bearerFromHeader(v, 256)
		if tok == "" {
			if reason == "" && isBearer {
				t.Fatalf("%q: bearer without token nor reason", v)
			}
			return
		}
		if !isBearer || reason != "" || !strings.HasSuffix(v, tok) || len(tok) > 256 {
			t.Fatalf("%q: got %q, %v, %q", v, tok, isBearer, reason)
		}
		if !asciiEqualFold(v[:6], "bearer") || strings.TrimLeft(v[6:], " ") != tok || v[6] != ' ' {
			t.Fatalf("%q: token %q does not follow 'Bearer' and spaces", v, tok)
		}
		for i := 0; i < len(tok); i++ {
			c := tok[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/=", c) >= 0) {
				t.Fatalf("%q: token has byte %q", v, c)
			}
		}
		if i := strings.IndexByte(tok, '='); i >= 0 && strings.TrimRight(tok[i:], "=") != "" {
			t.Fatalf("%q: '=' inside the token", v)
		}
	})
}
