package auditlog

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoMetricsLibraryCompiled keeps the packages every user imports free of
// a metrics library: only auditlog/prom may bring in Prometheus (and its
// protobuf).
func TestNoMetricsLibraryCompiled(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	for _, pkg := range []string{"auditlog", "cors", "headers"} {
		t.Run(pkg, func(t *testing.T) {
			out, err := exec.Command(goTool, "list", "-deps", "github.com/apiguard/apiguard/"+pkg).Output()
			if err != nil {
				t.Skipf("go list: %v", err)
			}
			for _, dep := range strings.Fields(string(out)) {
				if strings.Contains(dep, "prometheus") || strings.Contains(dep, "protobuf") {
					t.Errorf("%s compiles %s", pkg, dep)
				}
			}
		})
	}
}
