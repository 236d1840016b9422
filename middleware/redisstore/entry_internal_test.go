package redisstore

import (
	"strconv"
	"testing"
)

func TestDecodeEntry(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		want entry
	}{
		{"t:0:1700000000000:4:issajti", true, entry{kind: 't', iss: "issa", id: "jti", keepUntilM: 1700000000000}},
		{"s:5:6:0:sub", true, entry{kind: 's', id: "sub", before: 5, keepUntilM: 6}},
		{"s:5:6:3:a:bc:d", true, entry{kind: 's', iss: "a:b", id: "c:d", before: 5, keepUntilM: 6}},
		{"x:0:9:1:ifam", true, entry{kind: 'x', iss: "i", id: "fam", keepUntilM: 9}},
		{"", false, entry{}},
		{"y:0:1:0:a", false, entry{}},
		{"t:0:1:9:short", false, entry{}},
		{"t:-1:1:0:a", false, entry{}},
		{"t:0:1", false, entry{}},
		{"t:a:1:0:x", false, entry{}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := decodeEntry(tc.in)
			if ok != tc.ok || (ok && got != tc.want) {
				t.Fatalf("decodeEntry(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// FuzzDecodeEntry: entries come from Redis and from the channel, which
// anyone with access to that Redis can publish on; decoding must never panic
// and must round-trip.
func FuzzDecodeEntry(f *testing.F) {
	f.Add("t:0:1700000000000:4:issajti")
	f.Add("s:5:6:3:a:bc:d")
	f.Add("t:0:1:99999999999999999999:x")
	f.Fuzz(func(t *testing.T, s string) {
		e, ok := decodeEntry(s)
		if !ok {
			return
		}
		re := string(e.kind) + ":" + strconv.FormatInt(e.before, 10) + ":" + strconv.FormatInt(e.keepUntilM, 10) +
			":" + strconv.Itoa(len(e.iss)) + ":" + e.iss + e.id
		if e2, ok := decodeEntry(re); !ok || e2 != e {
			t.Fatalf("round trip of %q: %+v -> %q -> %+v", s, e, re, e2)
		}
	})
}

func TestEscapeGlob(t *testing.T) {
	if got := escapeGlob(`a*b?[c]\`); got != `a\*b\?\[c\]\\` {
		t.Fatalf("escapeGlob = %q", got)
	}
}
