package compact

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	enc := base64.RawURLEncoding.Strict()
	tests := []struct {
		name string
		in   string
		max  int
		want Fault
	}{
		{"ok", "e30.e30.AAAA", 100, OK},
		{"too large", "e30.e30.AAAA", 11, TooLarge},
		{"1 MB of dots", strings.Repeat(".", 1<<20), 2 << 20, Malformed},
		{"1 MB without dots", strings.Repeat("A", 1<<20), 2 << 20, Malformed},
		{"1 MB of garbage", strings.Repeat("\xff", 1<<20), 2 << 20, Malformed},
		{"1 MB of padding", strings.Repeat("=", 1<<20), 2 << 20, Malformed},
		{"1 MB of padding in a segment", "e30." + strings.Repeat("=", 1<<20) + ".AAAA", 2 << 20, BadBase64},
		{"one dot", "e30.e30", 100, Malformed},
		{"three dots", "e30.e30.AAAA.AAAA", 100, Malformed},
		{"empty header", ".e30.AAAA", 100, Malformed},
		{"empty payload", "e30..AAAA", 100, Malformed},
		{"empty signature", "e30.e30.", 100, Malformed},
		{"padding", "e30=.e30.AAAA", 100, BadBase64},
		{"std alphabet", "e30.e30.AA+/", 100, BadBase64},
		{"unused bits", "e31.e30.AAAA", 100, BadBase64},
		{"length 4n+1", "e30.e30.AAAAA", 100, BadBase64},
		{"CR", "e30.e3\r0.AAAA", 100, Malformed},
		{"LF", "e30.e3\n0.AAAA", 100, Malformed},
		{"space", "e30.e3 0.AAAA", 100, Malformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, fault := Parse(tt.in, tt.max, enc)
			if fault != tt.want {
				t.Fatalf("fault %d, want %d", fault, tt.want)
			}
			if fault == OK && (c.Header != "{}" || c.Payload != "{}" || len(c.Sig) != 3 || string(c.SigningInput) != "e30.e30") {
				t.Fatalf("parts %+v", c)
			}
		})
	}
}

func TestParseAllocs(t *testing.T) {
	enc := base64.RawURLEncoding.Strict()
	allocs := testing.AllocsPerRun(100, func() {
		if _, f := Parse("e30.e30.AAAA", 100, enc); f != OK {
			t.Fatal(f)
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
		c, fault := Parse(s, 4096, enc)
		if fault != OK {
			return
		}
		parts := strings.Split(s, ".")
		if len(parts) != 3 {
			t.Fatalf("accepted %q with %d segments", s, len(parts))
		}
		if base64.RawURLEncoding.EncodeToString([]byte(c.Header)) != parts[0] ||
			base64.RawURLEncoding.EncodeToString([]byte(c.Payload)) != parts[1] ||
			base64.RawURLEncoding.EncodeToString(c.Sig) != parts[2] ||
			string(c.SigningInput) != parts[0]+"."+parts[1] {
			t.Fatalf("accepted non-canonical %q", s)
		}
	})
}
