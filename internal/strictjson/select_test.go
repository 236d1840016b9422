package strictjson

import (
	"errors"
	"slices"
	"testing"
)

func TestPeekString(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		found   bool
		wantErr error
	}{
		{`{"iss":"a","sub":"b"}`, "a", true, nil},
		{`{"sub":"b"}`, "", false, nil},
		{`{"\u0069ss":"a"}`, "a", true, nil},
		{`{"iss":"a","iss":"b"}`, "", false, ErrDuplicate},
		{`{"iss":"a","\u0069ss":"b"}`, "", false, ErrDuplicate},
		{`{"x":1,"x":2,"iss":"a"}`, "", false, ErrDuplicate},
		{`{"iss":1}`, "", false, ErrType},
		{`{"iss":"a"} {}`, "", false, ErrTrailing},
		{"{\"iss\":\"a\xff\"}", "", false, ErrUTF8},
		{`{"iss":"a\q"}`, "", false, ErrSyntax},
		{`[]`, "", false, ErrNotObject},
	}
	for _, tt := range tests {
		got, found, err := PeekString(tt.in, "iss")
		if !errors.Is(err, tt.wantErr) || got != tt.want || found != tt.found {
			t.Errorf("PeekString(%q) = %q, %v, %v; want %q, %v, %v", tt.in, got, found, err, tt.want, tt.found, tt.wantErr)
		}
	}
}

func TestSelectAndValueStrings(t *testing.T) {
	in := `{"iss":"i","scp":"a  b","roles":"one","realm_access":{"roles":["r1","r2"]},"resource_access":{"api":{"roles":["w"]},"x":1},"n":3,"o":{"p":2}}`
	c := Claims{NoRolesScope: true, Select: []string{"scp", "roles", "realm_access", "resource_access", "n", "o", "absent"}}
	c.Selected = make([]string, len(c.Select))
	if err := ParseClaims(in, &c); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		member  int
		path    []string
		form    StringForm
		want    []string
		wantErr bool
	}{
		{0, nil, StringWords, []string{"a", "b"}, false},
		{0, nil, StringRefused, nil, true},
		{1, nil, StringOne, []string{"one"}, false},
		{1, nil, StringRefused, nil, true},
		{2, []string{"roles"}, StringRefused, []string{"r1", "r2"}, false},
		{3, []string{"api", "roles"}, StringRefused, []string{"w"}, false},
		{3, []string{"other", "roles"}, StringRefused, nil, false},
		{3, []string{"x", "roles"}, StringRefused, nil, true},
		{4, nil, StringWords, nil, true},
		{5, []string{"p"}, StringWords, nil, true},
		{6, nil, StringRefused, nil, false},
	}
	for _, tt := range tests {
		got, err := ValueStrings(c.Selected[tt.member], tt.path, tt.form, nil)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("%s %v: %q, %v; want %q, error %v", c.Select[tt.member], tt.path, got, err, tt.want, tt.wantErr)
		}
	}
	if s, ok, err := ValueString(`"v"`); s != "v" || !ok || err != nil {
		t.Errorf("ValueString: %q %v %v", s, ok, err)
	}
	if _, ok, err := ValueString(``); ok || err != nil {
		t.Errorf("ValueString of an absent member: %v %v", ok, err)
	}
	if _, _, err := ValueString(`["v"]`); !errors.Is(err, ErrType) {
		t.Errorf("ValueString of an array: %v", err)
	}
	bad := Claims{Select: []string{"a"}}
	if err := ParseClaims(`{}`, &bad); !errors.Is(err, ErrSelect) {
		t.Errorf("Selected shorter than Select: %v", err)
	}
}
