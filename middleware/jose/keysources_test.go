package jose

import (
	"context"
	"errors"
	"testing"
)

// mkErrSource always fails with err.
type mkErrSource struct{ err error }

func (s mkErrSource) LookupKey(context.Context, string, string) (*Key, error) { return nil, s.err }

func TestMultiKeySource(t *testing.T) {
	a := rjKey(t, "a", ES256, "p256")
	a2 := rjKey(t, "a", ES256, "p256b") // same kid as a, in a later source
	b := rjKey(t, "b", EdDSA, "ed")
	c := rjKey(t, "c", EdDSA, "ed2")
	static := func(keys ...*Key) KeySource {
		s, err := NewStaticKeys(keys...)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	down := mkErrSource{ErrKeysUnavailable}
	broken := mkErrSource{errors.New("boom")}
	tests := []struct {
		name     string
		srcs     []KeySource
		kid, alg string
		want     *Key
		wantErr  error
	}{
		{"first source", []KeySource{static(a), static(b)}, "a", ES256, a, nil},
		{"second source", []KeySource{static(a), static(b)}, "b", EdDSA, b, nil},
		{"order decides a shared kid", []KeySource{static(a), static(a2)}, "a", ES256, a, nil},
		{"past an unavailable source", []KeySource{down, static(b)}, "b", EdDSA, b, nil},
		{"past a failing source", []KeySource{broken, nil, static(b)}, "b", EdDSA, b, nil},
		{"alg must match", []KeySource{static(a), static(b)}, "a", EdDSA, nil, ErrKeyNotFound},
		{"not found anywhere", []KeySource{static(a), static(b)}, "x", ES256, nil, ErrKeyNotFound},
		{"not found, one unavailable", []KeySource{static(a), down}, "x", ES256, nil, ErrKeyNotFound},
		{"all unavailable", []KeySource{down, down}, "x", ES256, nil, ErrKeysUnavailable},
		{"all failing", []KeySource{down, broken}, "x", ES256, nil, ErrKeysUnavailable},
		{"no sources", nil, "x", ES256, nil, ErrKeysUnavailable},
		{"no kid, one key", []KeySource{static(a), static(b)}, "", EdDSA, b, nil},
		{"no kid, one key per source", []KeySource{static(b), static(c)}, "", EdDSA, nil, ErrKeyNotFound},
		{"no kid, two keys in a source", []KeySource{static(b, c)}, "", EdDSA, nil, ErrKeyNotFound},
		{"no kid, none", []KeySource{static(a)}, "", EdDSA, nil, ErrKeyNotFound},
		{"no kid, all unavailable", []KeySource{down}, "", EdDSA, nil, ErrKeysUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := MultiKeySource(tt.srcs...).LookupKey(context.Background(), tt.kid, tt.alg)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || k != nil {
					t.Fatalf("LookupKey = %v, %v; want %v", k, err, tt.wantErr)
				}
				return
			}
			if err != nil || k != tt.want {
				t.Fatalf("LookupKey = %v, %v; want key %q", k, err, tt.want.ID())
			}
		})
	}
}
