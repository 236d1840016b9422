package strictjson

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1)
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty object", `{}`, nil},
		{"whitespace around", " \t\r\n{ } \n", nil},
		{"all value kinds", `{"a":1,"b":-0.5e+3,"c":"x","d":[true,false,null],"e":{"f":{}}}`, nil},
		{"depth at cap", `{"a":` + deep + `}`, nil},
		{"depth over cap", `{"a":[` + deep + `]}`, ErrDepth},
		{"empty input", ``, ErrNotObject},
		{"array top level", `[]`, ErrNotObject},
		{"string top level", `"x"`, ErrNotObject},
		{"two objects", `{}{}`, ErrTrailing},
		{"trailing garbage", `{"a":1} x`, ErrTrailing},
		{"trailing NUL", "{}\x00", ErrTrailing},
		{"BOM", "\xef\xbb\xbf{}", ErrNotObject},
		{"duplicate", `{"a":1,"a":2}`, ErrDuplicate},
		{"duplicate after unescape", `{"a":1,"\u0061":2}`, ErrDuplicate},
		{"duplicate nested", `{"x":{"a":1,"a":2}}`, ErrDuplicate},
		{"duplicate among many", `{"a0":0,"a1":1,"a2":2,"a3":3,"a4":4,"a5":5,"a6":6,"a7":7,"a8":8,"a9":9,"b0":0,"b1":1,"b2":2,"b3":3,"b4":4,"b5":5,"b6":6,"b7":7,"a3":3}`, ErrDuplicate},
		{"distinct among many", `{"a0":0,"a1":1,"a2":2,"a3":3,"a4":4,"a5":5,"a6":6,"a7":7,"a8":8,"a9":9,"b0":0,"b1":1,"b2":2,"b3":3,"b4":4,"b5":5,"b6":6,"b7":7,"c3":3}`, nil},
		{"invalid utf8 in string", "{\"a\":\"\xff\"}", ErrUTF8},
		{"invalid utf8 in name", "{\"\xc3\":1}", ErrUTF8},
		{"overlong utf8", "{\"a\":\"\xc0\xaf\"}", ErrUTF8},
		{"encoded surrogate utf8", "{\"a\":\"\xed\xa0\x80\"}", ErrUTF8},
		{"lone high surrogate", `{"a":"\ud800"}`, ErrUTF8},
		{"lone low surrogate", `{"a":"\udc00"}`, ErrUTF8},
		{"high then non-low", `{"a":"\ud800\u0041"}`, ErrUTF8},
		{"paired surrogates", `{"a":"\ud83d\ude00"}`, nil},
		{"control char in string", "{\"a\":\"\n\"}", ErrSyntax},
		{"bad escape", `{"a":"\x"}`, ErrSyntax},
		{"short unicode escape", `{"a":"\u12"}`, ErrSyntax},
		{"leading zero", `{"a":01}`, ErrSyntax},
		{"plus sign", `{"a":+1}`, ErrSyntax},
		{"bare dot", `{"a":1.}`, ErrSyntax},
		{"bare exponent", `{"a":1e}`, ErrSyntax},
		{"NaN", `{"a":NaN}`, ErrSyntax},
		{"trailing comma object", `{"a":1,}`, ErrSyntax},
		{"trailing comma array", `{"a":[1,]}`, ErrSyntax},
		{"single quotes", `{'a':1}`, ErrSyntax},
		{"unterminated", `{"a":1`, ErrSyntax},
		{"literal typo", `{"a":tru}`, ErrSyntax},
		{"too large", `{"a":"` + strings.Repeat("x", MaxSize) + `"}`, ErrSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Valid(tt.in); err != tt.want {
				t.Fatalf("Valid(%q) = %v, want %v", trunc(tt.in), err, tt.want)
			}
			if tt.want == nil && !json.Valid([]byte(tt.in)) {
				t.Fatalf("accepted %q which encoding/json refuses", tt.in)
			}
		})
	}
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Header
		err  error
	}{
		{"typical", `{"alg":"RS256","kid":"k1","typ":"at+jwt"}`, Header{Alg: "RS256", Kid: "k1", Typ: "at+jwt"}, nil},
		{"escaped name", `{"\u0061lg":"ES256"}`, Header{Alg: "ES256"}, nil},
		{"crit", `{"alg":"RS256","crit":["b64"]}`, Header{Alg: "RS256", Crit: []string{"b64"}, HasCrit: true}, nil},
		{"embedded", `{"jku":"https://x","x5u":"u","jwk":{"kty":"oct"},"x5c":["a"]}`, Header{HasJKU: true, HasX5U: true, HasJWK: true, HasX5C: true, JWK: `{"kty":"oct"}`}, nil},
		{"cty", `{"cty":"JWT"}`, Header{Cty: "JWT"}, nil},
		{"alg number", `{"alg":1}`, Header{}, ErrType},
		{"alg null", `{"alg":null}`, Header{}, ErrType},
		{"crit empty", `{"crit":[]}`, Header{HasCrit: true}, ErrType},
		{"crit string", `{"crit":"b64"}`, Header{HasCrit: true}, ErrType},
		{"crit numbers", `{"crit":[1]}`, Header{HasCrit: true}, ErrType},
		{"duplicate alg", `{"alg":"RS256","alg":"none"}`, Header{Alg: "RS256"}, ErrDuplicate},
		{"duplicate escaped alg", `{"alg":"RS256","\u0061lg":"none"}`, Header{Alg: "RS256"}, ErrDuplicate},
		{"trailing", `{"alg":"RS256"}x`, Header{Alg: "RS256"}, ErrTrailing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Header
			err := ParseHeader(tt.in, &h)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && !reflect.DeepEqual(h, tt.want) {
				t.Fatalf("got %+v, want %+v", h, tt.want)
			}
		})
	}
}

func TestParseClaims(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Claims
		err  error
	}{
		{"typical", `{"iss":"i","sub":"s","aud":["a","b"],"exp":1700000000,"nbf":1699999000,"iat":1699999000,"jti":"j","roles":["user","admin"],"scope":"read  write"}`,
			Claims{Iss: "i", Sub: "s", Jti: "j", Aud: []string{"a", "b"}, HasAud: true,
				Exp: NumericDate{Sec: 1700000000, Set: true}, Nbf: NumericDate{Sec: 1699999000, Set: true}, Iat: NumericDate{Sec: 1699999000, Set: true},
				Roles: []string{"user", "admin"}, Scope: []string{"read", "write"}}, nil},
		{"aud string, scope array", `{"aud":"a","scope":["x"]}`, Claims{Aud: []string{"a"}, HasAud: true, Scope: []string{"x"}}, nil},
		{"fractional exp", `{"exp":1.5}`, Claims{Exp: NumericDate{Sec: 1, Nsec: 5e8, Set: true}}, nil},
		{"negative fractional", `{"exp":-1.5}`, Claims{Exp: NumericDate{Sec: -2, Nsec: 5e8, Set: true}}, nil},
		{"exponent", `{"exp":1.7e9}`, Claims{Exp: NumericDate{Sec: 1700000000, Set: true}}, nil},
		{"huge exp clamped", `{"exp":1e400}`, Claims{Exp: NumericDate{Sec: maxDate, Set: true}}, nil},
		{"huge integer clamped", `{"exp":99999999999999999999999}`, Claims{Exp: NumericDate{Sec: maxDate, Set: true}}, nil},
		{"zero exp", `{"exp":0}`, Claims{Exp: NumericDate{Set: true}}, nil},
		{"escaped sub", `{"sub":"a\"b\u00e9\ud83d\ude00"}`, Claims{Sub: "a\"bé😀"}, nil},
		{"unknown members skipped", `{"x":{"y":[1,2,{"z":null}]},"sub":"s"}`, Claims{Sub: "s"}, nil},
		{"string exp", `{"exp":"1700000000"}`, Claims{}, ErrType},
		{"bool nbf", `{"nbf":true}`, Claims{}, ErrType},
		{"iat object", `{"iat":{}}`, Claims{}, ErrType},
		{"sub number", `{"sub":1}`, Claims{}, ErrType},
		{"aud number", `{"aud":1}`, Claims{}, ErrType},
		{"aud mixed array", `{"aud":["a",1]}`, Claims{}, ErrType},
		{"roles string", `{"roles":"admin"}`, Claims{}, ErrType},
		{"sid", `{"sid":"fam-1"}`, Claims{Sid: "fam-1"}, nil},
		{"sid number", `{"sid":7}`, Claims{}, ErrType},
		{"duplicate sid", `{"sid":"a","s\u0069d":"b"}`, Claims{}, ErrDuplicate},
		{"duplicate exp", `{"exp":1,"exp":2}`, Claims{}, ErrDuplicate},
		{"duplicate escaped sub", `{"sub":"a","s\u0075b":"b"}`, Claims{}, ErrDuplicate},
		{"invalid utf8", "{\"sub\":\"\xfe\"}", Claims{}, ErrUTF8},
		{"acr and auth_time", `{"acr":"urn:mace:incommon:iap:silver","auth_time":1699999000}`,
			Claims{Acr: "urn:mace:incommon:iap:silver", AuthTime: NumericDate{Sec: 1699999000, Set: true}}, nil},
		{"acr number", `{"acr":2}`, Claims{}, ErrType},
		{"auth_time string", `{"auth_time":"1699999000"}`, Claims{}, ErrType},
		{"duplicate acr", `{"acr":"a","\u0061cr":"b"}`, Claims{}, ErrDuplicate},
		{"cnf jkt", `{"cnf":{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}`,
			Claims{Cnf: Confirmation{JKT: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", Set: true}}, nil},
		{"cnf x5t#S256 and others skipped", `{"cnf":{"x5t#S256":"bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2","kid":"k","jwk":{"kty":"EC"}}}`,
			Claims{Cnf: Confirmation{X5TS256: "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2", Set: true, Others: 2}}, nil},
		{"cnf both", `{"cnf":{"jkt":"a","x5t#S256":"b"}}`, Claims{Cnf: Confirmation{JKT: "a", X5TS256: "b", Set: true}}, nil},
		{"cnf empty object", `{"cnf":{}}`, Claims{Cnf: Confirmation{Set: true}}, nil},
		{"cnf string", `{"cnf":"jkt"}`, Claims{}, ErrType},
		{"cnf array", `{"cnf":[{"jkt":"a"}]}`, Claims{}, ErrType},
		{"cnf jkt number", `{"cnf":{"jkt":1}}`, Claims{}, ErrType},
		{"cnf jkt empty", `{"cnf":{"jkt":""}}`, Claims{}, ErrType},
		{"cnf x5t#S256 object", `{"cnf":{"x5t#S256":{}}}`, Claims{}, ErrType},
		{"cnf x5t#S256 empty", `{"cnf":{"x5t#S256":""}}`, Claims{}, ErrType},
		{"cnf duplicate jkt", `{"cnf":{"jkt":"a","j\u006bt":"b"}}`, Claims{}, ErrDuplicate},
		{"cnf duplicate other", `{"cnf":{"kid":"a","kid":"b"}}`, Claims{}, ErrDuplicate},
		{"duplicate cnf", `{"cnf":{"jkt":"a"},"cnf":{"jkt":"b"}}`, Claims{}, ErrDuplicate},
		{"cnf bad syntax", `{"cnf":{"jkt":"a",}}`, Claims{}, ErrSyntax},
		{"cnf unterminated", `{"cnf":{"jkt":"a"`, Claims{}, ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Claims
			err := ParseClaims(tt.in, &c)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			norm := func(c *Claims) {
				if len(c.Aud) == 0 {
					c.Aud = nil
				}
				if len(c.Roles) == 0 {
					c.Roles = nil
				}
				if len(c.Scope) == 0 {
					c.Scope = nil
				}
			}
			norm(&c)
			if !reflect.DeepEqual(c, tt.want) {
				t.Fatalf("got %+v, want %+v", c, tt.want)
			}
		})
	}
}

// TestParseClaimsSelectsDecodedMembers: a profile may read acr, auth_time
// and cnf through Select, which the decoder also decodes.
func TestParseClaimsSelectsDecodedMembers(t *testing.T) {
	c := Claims{Select: []string{"cnf", "acr", "auth_time"}, Selected: make([]string, 3)}
	if err := ParseClaims(`{"acr": "gold","cnf": {"jkt":"a"},"auth_time":7}`, &c); err != nil {
		t.Fatal(err)
	}
	if want := []string{`{"jkt":"a"}`, `"gold"`, "7"}; !reflect.DeepEqual(c.Selected, want) {
		t.Fatalf("Selected = %q, want %q", c.Selected, want)
	}
	if c.Acr != "gold" || c.Cnf.JKT != "a" || c.AuthTime.Sec != 7 {
		t.Fatalf("decoded %+v", c)
	}
}

func TestTypeErrorNamesMember(t *testing.T) {
	var c Claims
	err := ParseClaims(`{"exp":"soon"}`, &c)
	var te *TypeError
	if !errors.As(err, &te) || te.Member != "exp" {
		t.Fatalf("err = %v, want a TypeError for exp", err)
	}
}

func TestMember(t *testing.T) {
	s := `{"a":1, "\u0062" : {"c":[1,2]} ,"d":"x"}`
	if err := Valid(s); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"a": "1", "b": `{"c":[1,2]}`, "d": `"x"`} {
		got, ok := Member(s, name)
		if !ok || got != want {
			t.Errorf("Member(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	if _, ok := Member(s, "z"); ok {
		t.Error("Member found an absent name")
	}
}

func TestParseClaimsAllocs(t *testing.T) {
	in := `{"iss":"https://issuer.example","sub":"user-1234","aud":"api","exp":1700000000,"nbf":1699999000,"iat":1699999000,"jti":"abcdef0123456789","roles":["user","admin"]}`
	var aud, roles [4]string
	allocs := testing.AllocsPerRun(100, func() {
		c := Claims{Aud: aud[:0], Roles: roles[:0]}
		if err := ParseClaims(in, &c); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("ParseClaims allocated %v times, want 0", allocs)
	}
}

// FuzzStrictJSON checks that the decoders never panic, and that whatever they
// accept encoding/json accepts too and decodes to the same values.
func FuzzStrictJSON(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"iss":"i","sub":"s","aud":["a"],"exp":1.5e9,"roles":["r"],"scope":"a b"}`,
		`{"alg":"RS256","kid":"k","crit":["x"],"jwk":{}}`, `{"a":"\ud83d\ude00\u00e9"}`,
		`{"a":[1,{"b":null}],"a":2}`, "{\"a\":\"\xff\"}", `{"exp":-0.0000001}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		verr := Valid(s)
		var h Header
		herr := ParseHeader(s, &h)
		var c Claims
		cerr := ParseClaims(s, &c)
		if verr != nil {
			if herr == nil || cerr == nil {
				t.Fatalf("Valid refused (%v) what a decoder accepted", verr)
			}
			return
		}
		if !json.Valid([]byte(s)) {
			t.Fatalf("accepted %q, which encoding/json refuses", s)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		for name, v := range m {
			raw, ok := Member(s, name)
			if !ok {
				t.Fatalf("Member(%q) not found", name)
			}
			var w any
			if err := json.Unmarshal([]byte(raw), &w); err != nil || !reflect.DeepEqual(w, v) {
				t.Fatalf("Member(%q) = %q, encoding/json has %v", name, raw, v)
			}
		}
		str := func(name, got string) {
			if v, ok := m[name]; ok && v != got {
				t.Fatalf("%s = %q, encoding/json has %q", name, got, v)
			}
		}
		strs := func(name string, got []string) {
			v, ok := m[name]
			if !ok {
				return
			}
			var want []string
			switch v := v.(type) {
			case string:
				if name == "scope" {
					want = strings.FieldsFunc(v, func(r rune) bool { return r == ' ' })
				} else {
					want = []string{v}
				}
			case []any:
				for _, e := range v {
					want = append(want, e.(string))
				}
			}
			if len(want) != len(got) {
				t.Fatalf("%s = %q, encoding/json has %q", name, got, v)
			}
			for i := range want {
				if want[i] != got[i] {
					t.Fatalf("%s = %q, encoding/json has %q", name, got, v)
				}
			}
		}
		date := func(name string, got NumericDate) {
			v, ok := m[name]
			if !ok {
				return
			}
			f := v.(float64)
			f = math.Max(math.Min(f, maxDate), -maxDate)
			g := float64(got.Sec) + float64(got.Nsec)/1e9
			if math.Abs(g-f) > 1e-6*math.Max(1, math.Abs(f)) {
				t.Fatalf("%s = %v, encoding/json has %v", name, g, f)
			}
		}
		if herr == nil {
			str("alg", h.Alg)
			str("kid", h.Kid)
			str("typ", h.Typ)
			str("cty", h.Cty)
			strs("crit", h.Crit)
		} else if !errors.Is(herr, ErrType) {
			t.Fatalf("ParseHeader: %v on valid input", herr)
		}
		if cerr == nil {
			str("iss", c.Iss)
			str("sub", c.Sub)
			str("jti", c.Jti)
			strs("aud", c.Aud)
			strs("roles", c.Roles)
			strs("scope", c.Scope)
			date("exp", c.Exp)
			date("nbf", c.Nbf)
			date("iat", c.Iat)
		} else if !errors.Is(cerr, ErrType) {
			t.Fatalf("ParseClaims: %v on valid input", cerr)
		}
	})
}

func BenchmarkParseClaims(b *testing.B) {
	in := `{"iss":"https://issuer.example","sub":"user-1234","aud":"api","exp":1700000000,"nbf":1699999000,"iat":1699999000,"jti":"abcdef0123456789","roles":["user","admin"]}`
	b.Run("strictjson", func(b *testing.B) {
		b.ReportAllocs()
		var aud, roles [4]string
		for b.Loop() {
			c := Claims{Aud: aud[:0], Roles: roles[:0]}
			if err := ParseClaims(in, &c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		type claims struct {
			Iss   string   `json:"iss"`
			Sub   string   `json:"sub"`
			Aud   any      `json:"aud"`
			Exp   float64  `json:"exp"`
			Nbf   float64  `json:"nbf"`
			Iat   float64  `json:"iat"`
			Jti   string   `json:"jti"`
			Roles []string `json:"roles"`
		}
		for b.Loop() {
			var c claims
			if err := json.Unmarshal([]byte(in), &c); err != nil {
				b.Fatal(err)
			}
		}
	})
}
