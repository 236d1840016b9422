package middleware

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestParseCompact(t *testing.T) {
	enc := base64.RawURLEncoding.Strict()
	tests := []struct {
		name string
		in   string
		max  int
		want Reason
	}{
		{"ok", "e30.e30.AAAA", 100, ""},
		{"too large", "e30.e30.AAAA", 11, ReasonTokenTooLarge},
		{"1 MB of dots", strings.Repeat(".", 1<<20), 2 << 20, ReasonMalformed},
		{"1 MB without dots", strings.Repeat("A", 1<<20), 2 << 20, ReasonMalformed},
		{"1 MB of garbage", strings.Repeat("\xff", 1<<20), 2 << 20, ReasonMalformed},
		{"1 MB of padding", strings.Repeat("=", 1<<20), 2 << 20, ReasonMalformed},
		{"1 MB of padding in a segment", "e30." + strings.Repeat("=", 1<<20) + ".AAAA", 2 << 20, ReasonBadBase64},
		{"one dot", "e30.e30", 100, ReasonMalformed},
		{"three dots", "e30.e30.AAAA.AAAA", 100, ReasonMalformed},
		{"empty payload", "e30..AAAA", 100, ReasonMalformed},
		{"empty signature", "e30.e30.", 100, ReasonMalformed},
		{"padding", "e30=.e30.AAAA", 100, ReasonBadBase64},
		{"std alphabet", "e30.e30.AA+/", 100, ReasonBadBase64},
		{"unused bits", "e31.e30.AAAA", 100, ReasonBadBase64},
		{"length 4n+1", "e30.e30.AAAAA", 100, ReasonBadBase64},
		{"CR", "e30.e3\r0.AAAA", 100, ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, reason := parseCompact(tt.in, tt.max, enc)
			if reason != tt.want {
				t.Fatalf("reason %q, want %q", reason, tt.want)
			}
			if reason == "" && (c.header != "{}" || c.payload != "{}" || len(c.sig) != 3 || string(c.signingInput) != "e30.e30") {
				t.Fatalf("parts %+v", c)
			}
		})
	}
}

func TestParseCompactAllocs(t *testing.T) {
	enc := base64.RawURLEncoding.Strict()
	allocs := testing.AllocsPerRun(100, func() {
		if _, r := parseCompact("e30.e30.AAAA", 100, enc); r != "" {
			t.Fatal(r)
		}
	})
	if allocs > 2 {
		t.Fatalf("%v allocations, want 2", allocs)
	}
}

// FuzzCompact checks the parser never panics, and that whatever it accepts is
// canonical: re-encoding each decoded segment gives back the input.
func FuzzCompact(f *testing.F) {
	for _, s := range []string{"e30.e30.AAAA", "e31.e30.AAAA", "a.b.c", "...", "e30.e30.AA==", "eyJhbGciOiJub25lIn0.e30."} {
		f.Add(s)
	}
	enc := base64.RawURLEncoding.Strict()
	f.Fuzz(func(t *testing.T, s string) {
		c, reason := parseCompact(s, 4096, enc)
		if reason != "" {
			return
		}
		parts := strings.Split(s, ".")
		if len(parts) != 3 {
			t.Fatalf("accepted %q with %d segments", s, len(parts))
		}
		if base64.RawURLEncoding.EncodeToString([]byte(c.header)) != parts[0] ||
			base64.RawURLEncoding.EncodeToString([]byte(c.payload)) != parts[1] ||
			base64.RawURLEncoding.EncodeToString(c.sig) != parts[2] ||
			string(c.signingInput) != parts[0]+"."+parts[1] {
			t.Fatalf("accepted non-canonical %q", s)
		}
	})
}
