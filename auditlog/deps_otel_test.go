package auditlog

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoOpenTelemetryCompiled keeps OpenTelemetry out of the packages every
// user imports: they know only the Observer interface, and only
// auditlog/otel (which the test checks does bring it in, so that the check
// is not vacuous) compiles go.opentelemetry.io.
func TestNoOpenTelemetryCompiled(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	otelDeps := func(t *testing.T, pkg string) []string {
		t.Helper()
		out, err := exec.Command(goTool, "list", "-deps", "github.com/apiguard/apiguard/"+pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		var found []string
		for _, dep := range strings.Fields(string(out)) {
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
