package prom_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/apiguard/apiguard/auditlog"
	"github.com/apiguard/apiguard/auditlog/prom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Every event the Logger records is counted, with bounded labels: an
// event outside the schema and a reason that is not a code are both "other".
func ExampleNewCounter() {
	reg := prometheus.NewRegistry()
	c, err := prom.NewCounter(reg)
	if err != nil {
		panic(err)
	}
	audit := auditlog.New(nil, auditlog.Options{Counter: c}) // nil writer: count only

	audit.Record(nil, auditlog.Event{Name: auditlog.TokenRejected, Reason: "expired"})
	audit.Record(nil, auditlog.Event{Name: auditlog.TokenRejected, Reason: "expired"})
	audit.Record(nil, auditlog.Event{Name: auditlog.LoginSuccess})
	audit.Record(nil, auditlog.Event{Name: auditlog.TokenRejected, Reason: "<script>\r\n"})

	// What a scrape of /metrics shows.
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "apiguard_events_total") {
			fmt.Println(sc.Text())
		}
	}
	// Output:
	// apiguard_events_total{event="login_success",reason="none"} 1
	// apiguard_events_total{event="token_rejected",reason="expired"} 2
	// apiguard_events_total{event="token_rejected",reason="other"} 1
}

// A Counter can also be used on its own; the values are then used as they
// are, so they must be bounded by the caller.
func ExampleCounter_Inc() {
	reg := prometheus.NewRegistry()
	c, err := prom.NewCounter(reg)
	if err != nil {
		panic(err)
	}
	c.Inc(string(auditlog.Lockout), "login")

	fams, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			fmt.Println(f.GetName(), m.GetLabel()[0].GetValue(), m.GetLabel()[1].GetValue(), m.GetCounter().GetValue())
		}
	}
	// Output:
	// apiguard_events_total lockout login 1
}
