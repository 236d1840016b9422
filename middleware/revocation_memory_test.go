package middleware

import (
	"context"
	"testing"
	"time"
)

func TestMemoryRevocationList(t *testing.T) {
	now := t0
	l := NewMemoryRevocationList(func() time.Time { return now })
	ctx := context.Background()
	check := func(iss, jti, sub string, iat time.Time, want bool) {
		t.Helper()
		got, err := l.IsRevoked(iss, jti, sub, "", iat)
		if err != nil || got != want {
			t.Fatalf("IsRevoked(%s, %s, %s, %v) = %v, %v; want %v", iss, jti, sub, iat, got, err, want)
		}
	}
	check("i", "j1", "s", t0, false)
	_ = l.RevokeToken(ctx, "i", "j1", t0.Add(time.Hour))
	check("i", "j1", "s", t0, true)
	check("other", "j1", "s", t0, false) // jti is scoped by issuer
	check("i", "j2", "s", t0, false)

	_ = l.RevokeSubject(ctx, "i", "s", t0, t0.Add(time.Hour))
	check("i", "j2", "s", t0.Add(-time.Second), true) // issued before the cut-off
	check("i", "j2", "s", t0, false)                  // issued at the cut-off
	check("i", "j2", "s2", t0.Add(-time.Second), false)
	// An earlier cut-off does not shorten a later one.
	_ = l.RevokeSubject(ctx, "i", "s", t0.Add(-time.Hour), t0.Add(time.Minute))
	check("i", "j2", "s", t0.Add(-time.Second), true)

	_ = l.RevokeSession(ctx, "i", "fam", t0.Add(time.Hour))
	if got, _ := l.IsRevoked("i", "j9", "s9", "fam", t0); !got {
		t.Fatal("revoked session not revoked")
	}
	if got, _ := l.IsRevoked("other", "j9", "s9", "fam", t0); got {
		t.Fatal("a session is scoped by issuer")
	}
	if n := len(l.Entries()); n != 3 {
		t.Fatalf("Entries: %d, want 3", n)
	}

	if l.Len() != 3 {
		t.Fatalf("Len %d", l.Len())
	}
	now = t0.Add(2 * time.Hour)
	l.Sweep()
	if l.Len() != 0 {
		t.Fatalf("Len after sweep %d", l.Len())
	}
	check("i", "j1", "s", t0, false)
}

func TestMemoryRevocationListNoAllocs(t *testing.T) {
	l := NewMemoryRevocationList(nil)
	_ = l.RevokeToken(context.Background(), "i", "j", time.Now().Add(time.Hour))
	_ = l.RevokeSubject(context.Background(), "i", "s", time.Now(), time.Now().Add(time.Hour))
	iat := time.Now()
	if n := testing.AllocsPerRun(100, func() { _, _ = l.IsRevoked("i", "x", "s", "sid", iat) }); n != 0 {
		t.Fatalf("IsRevoked allocates %v times", n)
	}
}
