package auditlog

import (
	"os/exec"
	"strings"
	"testing"
)

// depsOf returns the packages `go list -deps` says pkg (a path under the
// module) compiles, skipping the test where it cannot run the go command.
func depsOf(t *testing.T, pkg string) []string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs go list")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", "github.com/apiguard/apiguard/"+pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// TestNoMetricsLibraryCompiled keeps the packages every user imports free of
// a metrics library: only auditlog/prom may bring in Prometheus (and its
// protobuf).
func TestNoMetricsLibraryCompiled(t *testing.T) {
	for _, pkg := range []string{"auditlog", "cors", "headers"} {
		t.Run(pkg, func(t *testing.T) {
			for _, dep := range depsOf(t, pkg) {
				if strings.Contains(dep, "prometheus") || strings.Contains(dep, "protobuf") {
					t.Errorf("%s compiles %s", pkg, dep)
				}
			}
		})
	}
}

// TestNoOpenTelemetryCompiled keeps OpenTelemetry out of the packages every
// user imports: they know only the Observer interface, and only
// auditlog/otel (which the test checks does bring it in, so that the check
// is not vacuous) compiles go.opentelemetry.io.
func TestNoOpenTelemetryCompiled(t *testing.T) {
	otelDeps := func(t *testing.T, pkg string) []string {
		var found []string
		for _, dep := range depsOf(t, pkg) {
			if strings.HasPrefix(dep, "go.opentelemetry.io/") {
				found = append(found, dep)
			}
		}
		return found
	}
	for _, pkg := range []string{"auditlog", "middleware", "middleware/jose", "ratelimit", "cors", "headers"} {
		t.Run(pkg, func(t *testing.T) {
			if found := otelDeps(t, pkg); len(found) > 0 {
				t.Errorf("%s compiles %v", pkg, found)
			}
		})
	}
	t.Run("auditlog/otel", func(t *testing.T) {
		if found := otelDeps(t, "auditlog/otel"); len(found) == 0 {
			t.Error("auditlog/otel compiles no go.opentelemetry.io package: the check above proves nothing")
		}
	})
}

func TestFetchURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://idp.test/jwks":                           "https://idp.test/jwks",
		"https://user:pass@idp.test:8443/a/jwks?k=v#frag": "https://idp.test:8443/a/jwks",
		"http://127.0.0.1:1/jwks?":                        "http://127.0.0.1:1/jwks",
		"://bad":                                          "",
	} {
		if got := FetchURL(in); got != want {
			t.Errorf("FetchURL(%q) = %q, want %q", in, got, want)
		}
	}
}
