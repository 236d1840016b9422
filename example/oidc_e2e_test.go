package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RequireIDPEnv turns a provider that cannot be built or started from a
// skip into a failure (CI sets it, so a skip cannot hide a missing step).
const RequireIDPEnv = "APIGUARD_REQUIRE_IDP"

// oidcProvider is the test-only OpenID Connect provider of
// internal/oidcprovider (zitadel/oidc's certified op package, in a module of
// its own), running as a real process on loopback.
type oidcProvider struct {
	issuer string
	client *http.Client
}

// startOIDCProvider builds and starts internal/oidcprovider on a free
// loopback port and stops it when the test ends. Building needs the module's
// dependencies (the Go module proxy, or a warm module cache): without them
// the test skips, or fails under APIGUARD_REQUIRE_IDP=1.
func startOIDCProvider(t *testing.T, audience string) *oidcProvider {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv(RequireIDPEnv) == "1" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format+" (skipping; set "+RequireIDPEnv+"=1 to fail instead)", args...)
	}
	if testing.Short() {
		t.Skip("starts a real OpenID Connect provider; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "oidcprovider")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = filepath.Join("..", "internal", "oidcprovider")
	if out, err := build.CombinedOutput(); err != nil {
		unavailable("building internal/oidcprovider: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-audience", audience)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		unavailable("starting the provider: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if iss, ok := strings.CutPrefix(sc.Text(), "oidcprovider: issuer "); ok {
				ready <- iss
			}
		}
		close(ready)
	}()
	select {
	case iss, ok := <-ready:
		if !ok {
			t.Fatal("the provider exited before it was ready")
		}
		return &oidcProvider{issuer: iss, client: &http.Client{Timeout: 10 * time.Second}}
	case <-time.After(30 * time.Second):
		t.Fatal("the provider printed no issuer line within 30 s")
	}
	return nil
}

// token obtains an access token with a client-credentials grant
// (client_secret_basic), as a real client would.
func (p *oidcProvider) token(t *testing.T) string {
	t.Helper()
	req, err := http.NewRequest("POST", p.issuer+"/oauth/token",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("apiguard-e2e", "apiguard-e2e-secret")
	res, err := p.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if res.StatusCode != 200 || json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("client-credentials grant: %d %s", res.StatusCode, body)
	}
	return tok.AccessToken
}

// rotate makes the provider sign with a new key, keeping the old one
// published, and returns the new kid.
func (p *oidcProvider) rotate(t *testing.T) string {
	t.Helper()
	res, err := p.client.Post(p.issuer+"/admin/rotate", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		KID string `json:"kid"`
	}
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&out) != nil || out.KID == "" {
		t.Fatalf("rotate: %d", res.StatusCode)
	}
	return out.KID
}

// TestExternalProviderEndToEnd: the example configured only by a real
// provider's issuer URL (discovery), its audience and profile accepts the
// provider's client-credentials token, refuses a tampered one, keeps
// accepting its own tokens, and picks up the provider's key rotation.
func TestExternalProviderEndToEnd(t *testing.T) {
	const audience = "apiguard-e2e-api"
	p := startOIDCProvider(t, audience)
	ts := newTestServer(t, "-oidc-issuer", p.issuer, "-oidc-audience", audience, "-oidc-profile", "jwt")

	// The keys arrive in the background: until then 503 with Retry-After,
	// never 401.
	tok := p.token(t)
	deadline := time.Now().Add(15 * time.Second)
	var res response
	for {
		res = ts.do("GET", "/api/me", tok, nil)
		if res.status != http.StatusServiceUnavailable {
			break
		}
		if res.header.Get("Retry-After") == "" {
			t.Fatalf("503 without Retry-After: %s", res.raw)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the provider's keys did not arrive within 15 s: %s", res.raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if res.status != http.StatusOK || res.body["sub"] != "apiguard-e2e" {
		t.Fatalf("the provider's token: %d %s", res.status, res.raw)
	}

	// A tampered token (payload changed, signature kept) is refused.
	parts := strings.Split(tok, ".")
	claims := decodeSegment(t, parts[1])
	claims["sub"] = "admin"
	forged, _ := json.Marshal(claims)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2]
	if res := ts.do("GET", "/api/me", tampered, nil); res.status != http.StatusUnauthorized || !strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Bearer ") {
		t.Fatalf("tampered token: %d %q %s", res.status, res.header.Get("WWW-Authenticate"), res.raw)
	}
	// A token for another audience: not this API's.
	// (The provider issues only its configured audience, so the example is
	// asked for a different one instead.)
	other := newTestServer(t, "-oidc-issuer", p.issuer, "-oidc-audience", "another-api", "-oidc-profile", "jwt")
	waitNot503(t, other, tok)
	if res := other.do("GET", "/api/me", tok, nil); res.status != http.StatusUnauthorized {
		t.Fatalf("token for another audience: %d %s", res.status, res.raw)
	}

	// The example's own tokens still work beside the provider's.
	own := ts.login("alice", "alice-password")
	if res := ts.do("GET", "/api/me", own.access, nil); res.status != http.StatusOK || res.body["sub"] != "alice" {
		t.Fatalf("own token beside the provider: %d %s", res.status, res.raw)
	}

	// The provider rotates its signing key: a token with the new kid is
	// accepted (an unknown kid refreshes the provider's key set).
	kid := p.rotate(t)
	rotated := p.token(t)
	if h := decodeSegment(t, strings.Split(rotated, ".")[0]); h["kid"] != kid {
		t.Fatalf("the provider did not sign with its new key %q: header %v", kid, h)
	}
	deadline = time.Now().Add(45 * time.Second)
	for {
		res = ts.do("GET", "/api/me", rotated, nil)
		if res.status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a token signed with the rotated key is still refused after 45 s: %d %s", res.status, res.raw)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The old token, signed with the old key the provider still publishes,
	// still verifies.
	if res := ts.do("GET", "/api/me", tok, nil); res.status != http.StatusOK {
		t.Fatalf("old token after the rotation: %d %s", res.status, res.raw)
	}
}

// waitNot503 waits until ts has the provider's keys (its answer to tok is no
// longer 503).
func waitNot503(t *testing.T, ts *testServer, tok string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for ts.do("GET", "/api/me", tok, nil).status == http.StatusServiceUnavailable {
		if time.Now().After(deadline) {
			t.Fatal("the provider's keys did not arrive within 15 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
