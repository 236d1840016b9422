package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// dashboardPath is the Grafana dashboard over the example's metrics.
const dashboardPath = "grafana/apiguard.json"

// TestGrafanaDashboardMetricsExist parses every PromQL expression of the
// dashboard (panel targets and variable queries), and checks that each
// metric it names is served by the example's /metrics after the example has
// been exercised, and that each selector matches a series the exercise made.
func TestGrafanaDashboardMetricsExist(t *testing.T) {
	exprs := dashboardExprs(t, dashboardPath)
	if len(exprs) < 10 {
		t.Fatalf("the dashboard has %d expressions; is %s the dashboard?", len(exprs), dashboardPath)
	}
	series := exercisedSeries(t)
	if problems := checkExprs(exprs, series); len(problems) > 0 {
		t.Errorf("the dashboard does not fit the example's /metrics:\n%s", strings.Join(problems, "\n"))
	}
	for ev, why := range notYetEmitted {
		for _, s := range series {
			if s.labels["event"] == ev {
				t.Errorf("the example now counts %s events: remove it from notYetEmitted (%s)", ev, why)
				break
			}
		}
	}
}

// notYetEmitted are the events the dashboard shows that the example does not
// record yet, so that no exercise makes their series; a selector on one of
// them is still checked for its metric name and its syntax.
var notYetEmitted = map[string]string{}

// TestGrafanaDashboardCheckFails proves the check above: a panel naming a
// metric the example does not serve, a selector no series matches, and an
// expression that does not parse are each reported.
func TestGrafanaDashboardCheckFails(t *testing.T) {
	series := []promSeries{{name: "apiguard_events_total", labels: map[string]string{"event": "token_rejected", "reason": "expired"}}}
	for _, expr := range []string{
		`sum(rate(apiguard_requests_total{job=~".*"}[5m]))`,
		`sum by (reason) (rate(apiguard_events_total{event="lockout"}[5m]))`,
		`sum(rate(apiguard_events_total{event="token_rejected"}[5m])`,
		`sum(rat(apiguard_events_total[5m]))`,
	} {
		if p := checkExprs([]string{expr}, series); len(p) == 0 {
			t.Errorf("checkExprs accepts %s", expr)
		}
	}
	if p := checkExprs([]string{`sum by (reason) (rate(apiguard_events_total{job=~".*",event="token_rejected",reason!=""}[5m])) / 2`}, series); len(p) > 0 {
		t.Errorf("checkExprs refuses a good expression: %v", p)
	}
}

// dashboardExprs returns every "expr" of the dashboard and every variable
// query (label_values(metric, label) is rewritten to the metric).
func dashboardExprs(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if d["schemaVersion"] == nil || d["uid"] == nil {
		t.Fatalf("%s is not a Grafana dashboard (no schemaVersion or uid)", path)
	}
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if e, ok := v["expr"].(string); ok {
				out = append(out, e)
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(d["panels"])
	lv := regexp.MustCompile(`^label_values\(\s*([^,]+),\s*[a-zA-Z_]+\s*\)$`)
	vars, _ := d["templating"].(map[string]any)["list"].([]any)
	for _, v := range vars {
		v := v.(map[string]any)
		if v["type"] != "query" {
			continue
		}
		q, _ := v["query"].(map[string]any)["query"].(string)
		m := lv.FindStringSubmatch(q)
		if m == nil {
			t.Errorf("variable %v: query %q is not label_values(metric, label)", v["name"], q)
			continue
		}
		out = append(out, m[1])
	}
	return out
}

// exercisedSeries runs the example through logins, refusals, threats, a
// lockout, a refused refresh, a logout and a failing remote JWK Set, then
// scrapes its /metrics.
func exercisedSeries(t *testing.T) []promSeries {
	t.Helper()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer down.Close()
	ts := newTestServer(t, "-app-addr", "", "-login-attempts", "2/15m", "-rate", "20/1m", "-jwks-url", down.URL+"/jwks.json")

	login := ts.do("POST", "/auth/login", "", map[string]string{"username": "alice", "password": "alice-password"})
	if login.status != http.StatusOK {
		t.Fatalf("login: %d %s", login.status, login.raw)
	}
	tok, _ := login.body["access_token"].(string)
	parts := strings.Split(tok, ".")
	ts.do("GET", "/api/me", tok, nil)
	ts.do("GET", "/api/me", parts[0]+"."+parts[1]+".c2lnbmF0dXJl", nil) // bad signature: also a threat
	ts.do("GET", "/api/me", "eyJhbGciOiJub25lIn0."+parts[1]+".c2ln", nil)
	ts.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": "not-a-refresh-token"})
	ts.do("POST", "/auth/logout", tok, nil)
	for range 3 { // the third is locked out
		ts.do("POST", "/auth/login", "", map[string]string{"username": "alice", "password": "wrong"}, "User-Agent", "lockout-test")
	}
	for range 25 { // past the 20 per minute: rate_limited
		ts.do("GET", "/healthz", "", nil, "User-Agent", "flood-test")
	}

	rec := httptest.NewRecorder()
	promhttp.HandlerFor(ts.app.metrics, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	series, err := parseExposition(string(body))
	if err != nil {
		t.Fatalf("/metrics: %v\n%s", err, body)
	}
	return series
}

// promSeries is one series of a text exposition.
type promSeries struct {
	name   string
	labels map[string]string
}

var seriesLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+\S+(?:\s+\S+)?$`)
var labelPair = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?`)

// parseExposition reads the Prometheus text format.
func parseExposition(s string) ([]promSeries, error) {
	var out []promSeries
	for _, line := range strings.Split(s, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := seriesLine.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("not a series line: %q", line)
		}
		ps := promSeries{name: m[1], labels: map[string]string{}}
		for _, l := range labelPair.FindAllStringSubmatch(m[2], -1) {
			ps.labels[l[1]] = l[2]
		}
		out = append(out, ps)
	}
	return out, nil
}

// selector is one vector selector of an expression.
type selector struct {
	name     string
	matchers []matcher
}

type matcher struct{ label, op, value string }

// promFuncs are the functions and aggregations the dashboard may use.
var promFuncs = []string{
	"sum", "avg", "min", "max", "count", "topk", "bottomk", "quantile", "stddev", "stdvar", "count_values", "group",
	"rate", "irate", "increase", "delta", "idelta", "deriv", "resets", "changes",
	"sum_over_time", "avg_over_time", "max_over_time", "min_over_time", "count_over_time", "last_over_time",
	"histogram_quantile", "abs", "ceil", "floor", "round", "clamp_min", "clamp_max", "clamp", "vector", "scalar",
	"label_replace", "label_join", "sort", "sort_desc", "time", "absent", "absent_over_time",
}

var promGroupers = []string{"by", "without", "on", "ignoring", "group_left", "group_right"}
var promKeywords = []string{"and", "or", "unless", "offset", "bool"}

// parsePromQL checks expr's shape (balanced brackets, known functions,
// well-formed selectors) and returns its selectors. It reads the subset of
// PromQL a dashboard uses; anything it does not understand is an error.
func parsePromQL(expr string) ([]selector, error) {
	// Grafana's variables stand for a duration or a regular expression.
	expr = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h", "${job}", ".*", "$job", ".*").Replace(expr)
	toks, err := promTokens(expr)
	if err != nil {
		return nil, err
	}
	var sels []selector
	depth := 0
	for i := 0; i < len(toks); i++ {
		tk := toks[i]
		next := ""
		if i+1 < len(toks) {
			next = toks[i+1]
		}
		switch {
		case tk == "(":
			depth++
		case tk == ")":
			if depth--; depth < 0 {
				return nil, fmt.Errorf("unbalanced ')' in %s", expr)
			}
		case isIdent(tk) && slices.Contains(promGroupers, tk):
			if next != "(" {
				return nil, fmt.Errorf("%s without a label list in %s", tk, expr)
			}
			j := i + 2
			for ; j < len(toks) && toks[j] != ")"; j++ {
				if toks[j] != "," && !isIdent(toks[j]) {
					return nil, fmt.Errorf("bad label %q after %s in %s", toks[j], tk, expr)
				}
			}
			if j == len(toks) {
				return nil, fmt.Errorf("unclosed label list in %s", expr)
			}
			i = j
		case isIdent(tk) && slices.Contains(promKeywords, tk):
		case isIdent(tk) && (next == "(" || slices.Contains(promGroupers, next)):
			if !slices.Contains(promFuncs, tk) {
				return nil, fmt.Errorf("unknown function %s in %s", tk, expr)
			}
		case isIdent(tk) || tk == "{":
			s := selector{}
			if tk != "{" {
				s.name = tk
				if next != "{" {
					sels = append(sels, s)
					continue
				}
				i++
			}
			// Matchers: label op "value" {, label op "value"} }.
			for i++; i < len(toks) && toks[i] != "}"; i++ {
				if toks[i] == "," {
					continue
				}
				if i+2 >= len(toks) || !isIdent(toks[i]) || !slices.Contains([]string{"=", "!=", "=~", "!~"}, toks[i+1]) || !strings.HasPrefix(toks[i+2], `"`) {
					return nil, fmt.Errorf("bad matcher at %q in %s", toks[i], expr)
				}
				var v string
				if err := json.Unmarshal([]byte(toks[i+2]), &v); err != nil {
					return nil, fmt.Errorf("bad string %s in %s", toks[i+2], expr)
				}
				if strings.HasSuffix(toks[i+1], "~") {
					if _, err := regexp.Compile(v); err != nil {
						return nil, fmt.Errorf("bad regexp %q in %s", v, expr)
					}
				}
				s.matchers = append(s.matchers, matcher{toks[i], toks[i+1], v})
				i += 2
			}
			if i == len(toks) {
				return nil, fmt.Errorf("unclosed selector in %s", expr)
			}
			if s.name == "" {
				return nil, fmt.Errorf("a selector without a metric name in %s", expr)
			}
			sels = append(sels, s)
		case strings.HasPrefix(tk, "["), strings.IndexFunc(tk, func(r rune) bool { return !strings.ContainsRune("0123456789.", r) }) < 0,
			len(tk) <= 2 && strings.ContainsAny(tk, "+-*/%^<>=!,"):
		default:
			return nil, fmt.Errorf("unexpected %q in %s", tk, expr)
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced '(' in %s", expr)
	}
	if len(sels) == 0 {
		return nil, fmt.Errorf("no selector in %s", expr)
	}
	return sels, nil
}

func isIdent(s string) bool {
	return regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`).MatchString(s)
}

// promTokens splits expr into identifiers, strings, ranges ([5m]), numbers
// and operators.
func promTokens(expr string) ([]string, error) {
	tok := regexp.MustCompile(`^(?:[a-zA-Z_:][a-zA-Z0-9_:]*|"(?:[^"\\]|\\.)*"|\[[0-9a-z:]+\]|[0-9]+(?:\.[0-9]+)?|=~|!~|!=|==|<=|>=|[-+*/%^<>=(){},])`)
	var out []string
	for s := strings.TrimSpace(expr); s != ""; s = strings.TrimSpace(s) {
		m := tok.FindString(s)
		if m == "" {
			return nil, fmt.Errorf("cannot read %q in %s", s, expr)
		}
		out = append(out, m)
		s = s[len(m):]
	}
	return out, nil
}

// checkExprs returns what is wrong with exprs against the scraped series:
// an expression that does not parse, a metric the example does not serve,
// a selector no series matches. Matchers on job and instance, labels the
// scraper adds, are not checked.
func checkExprs(exprs []string, series []promSeries) []string {
	var problems []string
	for _, expr := range exprs {
		sels, err := parsePromQL(expr)
		if err != nil {
			problems = append(problems, "does not parse: "+err.Error())
			continue
		}
		for _, s := range sels {
			named := false
			matched := false
			for _, ps := range series {
				if ps.name != s.name {
					continue
				}
				named = true
				if matches(s.matchers, ps.labels) {
					matched = true
					break
				}
			}
			switch {
			case !named:
				problems = append(problems, fmt.Sprintf("metric %s is not served: %s", s.name, expr))
			case !matched && !pending(s.matchers):
				problems = append(problems, fmt.Sprintf("no series of %s matches %v: %s", s.name, s.matchers, expr))
			}
		}
	}
	return problems
}

// pending reports whether ms select an event of notYetEmitted.
func pending(ms []matcher) bool {
	for _, m := range ms {
		if m.label == "event" && m.op == "=" && notYetEmitted[m.value] != "" {
			return true
		}
	}
	return false
}

func matches(ms []matcher, labels map[string]string) bool {
	for _, m := range ms {
		if m.label == "job" || m.label == "instance" {
			continue
		}
		v := labels[m.label]
		var ok bool
		switch m.op {
		case "=":
			ok = v == m.value
		case "!=":
			ok = v != m.value
		case "=~", "!~":
			ok = regexp.MustCompile("^(?:"+m.value+")$").MatchString(v) == (m.op == "=~")
		}
		if !ok {
			return false
		}
	}
	return true
}
