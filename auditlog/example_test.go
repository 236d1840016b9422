package auditlog_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/internal/reqctx"
)

func fixedNow() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

func ExampleLogger_Record() {
	l := auditlog.New(os.Stdout, auditlog.Options{Now: fixedNow, IP: auditlog.IPMasked})

	token := "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9." // never logged as such
	r := httptest.NewRequest(http.MethodGet, "/api/me?access_token="+token, nil)
	l.Record(r, auditlog.Event{
		Name:   auditlog.TokenRejected,
		Reason: "alg_none",
		Token:  auditlog.TokenID(token),
		Status: http.StatusUnauthorized,
	})
	// Output:
	// {"level":"info","time":"2026-01-02T03:04:05.000Z","event":"token_rejected","reason":"alg_none","token":"75242a18c30b","status":401,"ip":"192.0.2.0/24","method":"GET","path":"/api/me"}
}

func ExampleRequestLogger_Handler() {
	l := auditlog.New(os.Stdout, auditlog.Options{Now: fixedNow, IP: auditlog.IPNone})
	rl := auditlog.MustNewRequestLogger(l, auditlog.RequestLogOptions{}) // literal options: an error would be a bug
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info, ok := reqctx.From(r.Context()); ok {
			info.Sub = "alice" // what the authentication step fills in
		}
		fmt.Fprint(w, `{"ok":true}`)
	})
	r := httptest.NewRequest(http.MethodGet, "/api/me?debug=1", nil)
	r.Header.Set("X-Request-ID", "req-42")
	w := httptest.NewRecorder()
	rl.Handler(api).ServeHTTP(w, r)
	fmt.Println("X-Request-ID:", w.Header().Get("X-Request-ID"))
	// Output:
	// {"level":"info","time":"2026-01-02T03:04:05.000Z","event":"request","request_id":"req-42","method":"GET","path":"/api/me","sub":"alice","status":200,"bytes":11,"duration":0}
	// X-Request-ID: req-42
}

// Repeats of a threat from one client are kept out of the log and from the
// Alerter for a window; the next line reports how many were suppressed.
func ExampleAlerter() {
	now := fixedNow()
	alerter := auditlog.AlerterFunc(func(_ context.Context, a auditlog.Alert) {
		fmt.Printf("ALERT %s %s client=%s suppressed=%d\n", a.Event, a.Reason, a.Client, a.Suppressed)
	})
	l := auditlog.New(os.Stdout, auditlog.Options{
		Now:     func() time.Time { return now },
		IP:      auditlog.IPNone,
		Alerter: alerter,
	})
	r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	r = r.WithContext(reqctx.With(r.Context(), &reqctx.Info{Client: "9f86d081"}))

	for range 1000 {
		l.Record(r, auditlog.Event{Name: auditlog.SecurityThreat, Reason: "embedded_jwk"})
	}
	now = now.Add(auditlog.DefaultSuppressWindow)
	l.Record(r, auditlog.Event{Name: auditlog.SecurityThreat, Reason: "embedded_jwk"})
	// Output:
	// {"level":"warn","time":"2026-01-02T03:04:05.000Z","event":"security_threat","reason":"embedded_jwk","client":"9f86d081","method":"GET","path":"/api/me"}
	// ALERT security_threat embedded_jwk client=9f86d081 suppressed=0
	// {"level":"warn","time":"2026-01-02T03:05:05.000Z","event":"security_threat","reason":"embedded_jwk","suppressed":999,"suppressed_first":"2026-01-02T03:04:05.000Z","suppressed_last":"2026-01-02T03:04:05.000Z","client":"9f86d081","method":"GET","path":"/api/me"}
	// ALERT security_threat embedded_jwk client=9f86d081 suppressed=999
}

func ExampleTokenID() {
	fmt.Println(auditlog.TokenID("abc"))
	// Output: ba7816bf8f01
}

// A flood of refusals from one client: the first RefusalBurst in a window
// are written, the rest counted and reported by a summary line (here by
// Flush; else when a later refusal finds the window ended).
func ExampleOptions_refusals() {
	l := auditlog.New(os.Stdout, auditlog.Options{Now: fixedNow, IP: auditlog.IPNone, RefusalBurst: 2})
	r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	r = r.WithContext(reqctx.With(r.Context(), &reqctx.Info{Client: "9f86d081"}))

	for range 1000 { // forged tokens
		l.Record(r, auditlog.Event{Name: auditlog.TokenRejected, Reason: "bad_signature", Status: http.StatusUnauthorized})
	}
	l.Flush()
	// Output:
	// {"level":"info","time":"2026-01-02T03:04:05.000Z","event":"token_rejected","reason":"bad_signature","status":401,"client":"9f86d081","method":"GET","path":"/api/me"}
	// {"level":"info","time":"2026-01-02T03:04:05.000Z","event":"token_rejected","reason":"bad_signature","status":401,"client":"9f86d081","method":"GET","path":"/api/me"}
	// {"level":"info","time":"2026-01-02T03:04:05.000Z","event":"token_rejected","reason":"bad_signature","client":"9f86d081","suppressed":998,"summary":true,"suppressed_first":"2026-01-02T03:04:05.000Z","suppressed_last":"2026-01-02T03:04:05.000Z"}
}
