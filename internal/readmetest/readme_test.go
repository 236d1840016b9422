// Package readmetest compiles and runs every Go block of the README, so the
// README's examples can never drift from the API.
//
// Each ```go block of README.md is a whole program (package main with its
// imports) that builds its handler and ends in http.ListenAndServe. The test
// builds each block as a package of this module through `go test -overlay`
// (nothing is written into the tree), with two additions: the call to
// http.ListenAndServe is replaced by serve, which hands the handler to the
// test instead of listening, and a generated test runs main, takes the handler
// and checks what every block promises: /healthz answers 200 and a protected
// route without a token answers 401 with a Bearer challenge. Blocks must also
// be gofmt-formatted. (go vet cannot run on a package that exists only in an
// overlay, so the build runs with -vet=off; the compiler still checks it all.) A block's
// comment `// readme:protected /path` names its protected route. A block that
// is a middleware.Config literal alone (the identity-provider section) is
// compiled inside a function returning it, and middleware.New must accept it
// (without waiting on the network). A block runs
// in a folder of its own holding what a reader would have at hand: an
// identity provider's public key as idp-public.pem and as jwks.json.
package readmetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// block is one ```go block of the README.
type block struct {
	line int // first line of the code, 1-based
	code string
}

func readmeBlocks(t *testing.T, path string) []block {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []block
	var cur *block
	var buf strings.Builder
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case cur == nil && strings.TrimSpace(line) == "```go":
			cur = &block{line: i + 2}
			buf.Reset()
		case cur != nil && strings.TrimSpace(line) == "```":
			cur.code = buf.String()
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			buf.WriteString(line)
			buf.WriteByte('\n')
		}
	}
	if cur != nil {
		t.Fatalf("README.md:%d: unterminated ```go block", cur.line)
	}
	return out
}

var protectedRe = regexp.MustCompile(`// readme:protected (\S+)`)

// shim replaces the block's listener: main hands its handler to the test and
// then blocks, as ListenAndServe would.
const shim = `package main

import "net/http"

var served = make(chan http.Handler, 1)

func serve(_ string, h http.Handler) error {
	served <- h
	select {}
}
`

const runTest = `package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestBlockRuns(t *testing.T) {
	go main()
	var h http.Handler
	select {
	case h = <-served:
	case <-time.After(30 * time.Second):
		t.Fatal("main did not reach ListenAndServe within 30 s")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /healthz: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", PROTECTED, nil))
	if rec.Code != http.StatusUnauthorized || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer ") {
		t.Fatalf("GET %s without a token: %d %q, want 401 with a Bearer challenge", PROTECTED, rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}
`

// configProgram wraps a block that is a middleware.Config literal (the
// identity-provider section): the literal must compile, and New must accept
// it without waiting on the network (Discovery fetches in the background).
const configProgram = `package main

import (
	"context"
	"regexp"

	"github.com/apiguard/apiguard/middleware"
)

var (
	_ = context.Background
	_ = regexp.MustCompile
)

func config() middleware.Config {
	return CONFIG
}

func main() {}
`

const configTest = `package main

import (
	"testing"

	"github.com/apiguard/apiguard/middleware"
)

func TestConfigAccepted(t *testing.T) {
	a, err := middleware.New(config())
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
}
`

func TestReadmeBlocksCompileAndRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every README block; skipped with -short")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeBlocks(t, filepath.Join(root, "README.md"))
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```go block")
	}
	tmp := t.TempDir()
	for i, b := range blocks {
		t.Run(fmt.Sprintf("README.md:%d", b.line), func(t *testing.T) {
			if formatted, err := format.Source([]byte(b.code)); err != nil || string(formatted) != b.code {
				t.Fatalf("block is not gofmt-formatted (err %v)", err)
			}
			// The package's files, placed by the overlay in a folder of this
			// module that does not exist on disk.
			pkg := filepath.Join(root, "internal", "readmetest", fmt.Sprintf("block%d", i))
			var files map[string]string
			switch {
			case strings.HasPrefix(b.code, "package main"):
				if !strings.Contains(b.code, "http.ListenAndServe(") {
					t.Fatalf("block does not end in http.ListenAndServe")
				}
				m := protectedRe.FindStringSubmatch(b.code)
				if m == nil {
					t.Fatalf("block has no `// readme:protected /path` comment naming its protected route")
				}
				files = map[string]string{
					"main.go":     strings.Replace(b.code, "http.ListenAndServe(", "serve(", 1),
					"shim.go":     shim,
					"run_test.go": strings.ReplaceAll(runTest, "PROTECTED", fmt.Sprintf("%q", m[1])),
				}
			case strings.HasPrefix(b.code, "middleware.Config{"):
				files = map[string]string{
					"main.go":     strings.Replace(configProgram, "CONFIG", b.code, 1),
					"run_test.go": configTest,
				}
			default:
				t.Fatalf("block is neither a whole program (`package main`) nor a `middleware.Config{...}` literal")
			}
			overlay := map[string]map[string]string{"Replace": {}}
			for name, src := range files {
				real := filepath.Join(tmp, fmt.Sprintf("block%d-%s", i, name))
				if err := os.WriteFile(real, []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
				overlay["Replace"][filepath.Join(pkg, name)] = real
			}
			ov, _ := json.Marshal(overlay)
			ovPath := filepath.Join(tmp, fmt.Sprintf("overlay%d.json", i))
			if err := os.WriteFile(ovPath, ov, 0o644); err != nil {
				t.Fatal(err)
			}
			bin := filepath.Join(tmp, fmt.Sprintf("block%d.test", i))
			build := exec.Command("go", "test", "-c", "-vet=off", "-overlay", ovPath, "-o", bin, "./"+fmt.Sprintf("block%d", i))
			build.Dir = filepath.Join(root, "internal", "readmetest")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("README.md:%d: the block does not build: %v\n%s", b.line, err, out)
			}
			// The program runs in a folder of its own (the package's folder
			// exists only in the overlay).
			run := exec.Command(bin, "-test.count=1")
			run.Dir = t.TempDir()
			writeFixtures(t, run.Dir)
			if out, err := run.CombinedOutput(); err != nil {
				t.Fatalf("README.md:%d: the block does not run as promised: %v\n%s", b.line, err, out)
			}
		})
	}
}

// writeFixtures puts a fresh P-256 public key in dir, as idp-public.pem and as
// a one-key JWK Set jwks.json, for blocks that read their keys from files.
func writeFixtures(t *testing.T, dir string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	ecdh, err := priv.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	point := ecdh.Bytes() // 0x04 || X || Y
	b64 := base64.RawURLEncoding.EncodeToString
	jwks := fmt.Sprintf(`{"keys":[{"kty":"EC","crv":"P-256","kid":"readme","alg":"ES256","use":"sig","x":%q,"y":%q}]}`,
		b64(point[1:33]), b64(point[33:]))
	if err := os.WriteFile(filepath.Join(dir, "idp-public.pem"), pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "jwks.json"), []byte(jwks), 0o644); err != nil {
		t.Fatal(err)
	}
}
