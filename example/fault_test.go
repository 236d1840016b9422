package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"maps"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apiguard/apiguard/internal/redistest"
	"github.com/apiguard/apiguard/middleware/redisstore"
	"github.com/redis/go-redis/v9"
)

// faultDeadline bounds every wait of the fault test: generous, for a loaded
// two-core machine under -race.
const faultDeadline = 30 * time.Second

// faultServer is newTestServer with what the fault test watches: net/http's
// own error log (where a handler's panic would land) and, when hook is set,
// a go-redis hook on the client of the refresh store.
func faultServer(t *testing.T, httpLog *syncBuffer, hook redis.Hook, args ...string) *testServer {
	t.Helper()
	a, cfg, logs := newTestApp(t, args...)
	if hook != nil {
		// The example's refresh wiring (server.go), on a client of the same
		// -redis with the hook.
		opts, err := redis.ParseURL(cfg.Redis)
		if err != nil {
			t.Fatal(err)
		}
		rdb := redis.NewClient(opts)
		rdb.AddHook(hook)
		t.Cleanup(func() { _ = rdb.Close() })
		store, err := redisstore.NewRefreshStore(rdb, redisstore.RefreshStoreOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if a.refresh, err = a.newRefreshTokens(cfg, store); err != nil {
			t.Fatal(err)
		}
	}
	h, err := a.apiHandler()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(httpLog, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return &testServer{t: t, app: a, srv: srv, log: logs}
}

// lostSpendReply makes the proxy lose the reply of the next spend script
// (EVALSHA) once armed: Redis runs the script, the client never hears back,
// and go-redis sends it again.
type lostSpendReply struct {
	proxy *redistest.Proxy
	armed atomic.Bool
}

func (h *lostSpendReply) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *lostSpendReply) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "evalsha" && h.armed.CompareAndSwap(true, false) {
			h.proxy.DropNextReply()
		}
		return next(ctx, cmd)
	}
}
func (h *lostSpendReply) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// waitStatus polls path with bearer on ts (a new User-Agent each time, so
// the polls never spend one client's budget) until it answers want, and
// fails the test after faultDeadline.
func waitStatus(t *testing.T, ts *testServer, name, bearer string, want int) {
	t.Helper()
	deadline := time.Now().Add(faultDeadline)
	for i := 0; ; i++ {
		res := ts.do("GET", "/api/me", bearer, nil, "User-Agent", "fault-probe/"+name+"/"+strconv.Itoa(i))
		if res.status == want {
			return
		}
		if res.status >= 500 && (res.status != 503 || res.header.Get("Retry-After") == "") {
			t.Fatalf("%s: %d %s (Retry-After %q) while waiting for %d", name, res.status, res.raw, res.header.Get("Retry-After"), want)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %d %s after %v, want %d", name, res.status, res.raw, faultDeadline, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// faultLoad is a few clients doing /api/me and refreshes on both instances
// until stopped, recording every status.
type faultLoad struct {
	stop    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	counts  map[int]int
	bad     []string // 5xx other than 503 with Retry-After
	invalid atomic.Int32
}

func startLoad(t *testing.T, servers []*testServer, clients int) *faultLoad {
	l := &faultLoad{stop: make(chan struct{}), counts: map[int]int{}}
	for c := range clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			ua := "fault-load/" + strconv.Itoa(c)
			var access, refresh string
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				case <-time.After(150 * time.Millisecond):
				}
				ts := servers[(c+i)%len(servers)]
				var st int
				var hdr string
				switch {
				case access == "":
					st, hdr, access, refresh = l.call(ts, "POST", "/auth/login", "", map[string]string{"username": "alice", "password": "alice-password"}, ua)
				case i%4 == 0:
					var a, r string
					st, hdr, a, r = l.call(ts, "POST", "/auth/refresh", "", map[string]string{"refresh_token": refresh}, ua)
					switch st {
					case 200:
						access, refresh = a, r
					case 400: // the family was in the Redis that restarted empty
						l.invalid.Add(1)
						access = ""
					}
				default:
					st, hdr, _, _ = l.call(ts, "GET", "/api/me", access, nil, ua)
				}
				l.record(st, hdr)
			}
		}()
	}
	t.Cleanup(l.halt)
	return l
}

// call does one request without failing the test from a goroutine.
func (l *faultLoad) call(ts *testServer, method, path, bearer string, body any, ua string) (status int, retryAfter, access, refresh string) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, ts.srv.URL+path, rd)
	req.RequestURI = ""
	req.Header.Set("User-Agent", ua)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := ts.srv.Client().Do(req)
	if err != nil {
		return -1, err.Error(), "", ""
	}
	defer res.Body.Close()
	var out struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
	}
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, res.Header.Get("Retry-After"), out.Access, out.Refresh
}

func (l *faultLoad) record(status int, retryAfter string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counts[status]++
	if status < 0 || status >= 500 && (status != 503 || retryAfter == "") {
		l.bad = append(l.bad, strconv.Itoa(status)+" "+retryAfter)
	}
}

func (l *faultLoad) count(status int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[status]
}

func (l *faultLoad) snapshot() map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.counts)
}

func (l *faultLoad) halt() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

// auditEvents parses a test server's log (every line must be one JSON
// object) and counts its events by name and by name:reason.
func auditEvents(t *testing.T, ts *testServer) map[string]int {
	t.Helper()
	events := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(ts.log.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not one JSON object: %v\n%s", err, sc.Text())
		}
		ev, _ := m["event"].(string)
		if ev == "" {
			continue
		}
		events[ev]++
		if r, _ := m["reason"].(string); r != "" {
			events[ev+":"+r]++
		}
	}
	return events
}

// TestFaultRedisKilledAndLostReplies runs two example instances on one real
// redis-server with the contract's flags only (the same -key and -redis;
// instance one reaches Redis through a proxy that can lose a reply), under
// a steady load of sign-ins, /api/me and refreshes, and:
//
//  1. kills Redis (SIGKILL) and restarts it empty: a token logged out before
//     the kill is refused (401) on both instances once their revocation
//     replicas re-sync (each writes back what it holds);
//  2. checks that during the outage no response was a 5xx other than 503
//     with Retry-After, and that nothing panicked;
//  3. loses the reply of a refresh's spend script: the refresh still
//     answers 200 (go-redis's retry meets the retry window), the new pair
//     works on both instances, and nothing in the audit log calls it reuse;
//  4. replays a spent refresh token after its successor was used: the
//     family's access token is refused on both instances.
func TestFaultRedisKilledAndLostReplies(t *testing.T) {
	rs := redistest.Start(t)
	proxy := redistest.NewProxy(t, rs.Addr)
	key := writeTestKey(t)
	lost := &lostSpendReply{proxy: proxy}
	httpLog := &syncBuffer{}
	one := faultServer(t, httpLog, lost, "-redis", "redis://"+proxy.Addr, "-key", key)
	two := faultServer(t, httpLog, nil, "-redis", rs.URL(), "-key", key)
	both := []*testServer{one, two}

	load := startLoad(t, both, 3)

	// 1. A logout before the kill.
	revoked := one.login("admin", "admin-password")
	if res := one.do("POST", "/auth/logout", revoked.access, nil); res.status != 204 {
		t.Fatalf("logout: %d %s", res.status, res.raw)
	}
	for i, ts := range both {
		waitStatus(t, ts, "logged out, before the kill, instance "+strconv.Itoa(i+1), revoked.access, 401)
	}
	live := two.login("alice", "alice-password") // a session that must survive the outage
	// The load is under way, each client with a family in Redis.
	deadline := time.Now().Add(faultDeadline)
	for load.count(200) < 12 {
		if time.Now().After(deadline) {
			t.Fatalf("the load did not start: %v", load.snapshot())
		}
		time.Sleep(50 * time.Millisecond)
	}

	rs.Stop() // SIGKILL
	for i, ts := range both {
		waitStatus(t, ts, "outage, instance "+strconv.Itoa(i+1), live.access, 503)
	}
	time.Sleep(time.Second) // the load meets the outage
	seen503 := load.count(503)
	rs.Restart() // empty: no persistence

	for i, ts := range both {
		waitStatus(t, ts, "logged out, after the restart, instance "+strconv.Itoa(i+1), revoked.access, 401)
		waitStatus(t, ts, "live session, after the restart, instance "+strconv.Itoa(i+1), live.access, 200)
	}
	// The load recovers: a refresh of a family lost with the emptied Redis
	// answers 400 invalid_grant (never a 5xx), and sign-ins and /api/me
	// succeed again.
	deadline = time.Now().Add(faultDeadline)
	for before := load.count(200); load.count(200) < before+6 || load.invalid.Load() == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the load did not recover after the restart: %v, %d refreshes of lost families", load.snapshot(), load.invalid.Load())
		}
	}
	load.halt()

	// 2. The outage answered 503 with Retry-After, never another 5xx, and
	// nothing panicked.
	if len(load.bad) > 0 {
		t.Fatalf("during the outage: %d bad answers (5xx other than 503 with Retry-After, or transport errors): %v", len(load.bad), load.bad)
	}
	if seen503 == 0 {
		t.Fatalf("the load saw no 503 during the outage: %v", load.snapshot())
	}
	if s := httpLog.String(); strings.Contains(s, "panic") {
		t.Fatalf("a handler panicked:\n%s", s)
	}
	t.Logf("load: %v; %d refreshes of families lost with the restart", load.snapshot(), load.invalid.Load())
	writtenBack := 0
	for i, ts := range both {
		ev := auditEvents(t, ts)
		logs := ts.log.String()
		if !strings.Contains(logs, "revocation replica out of sync") || !strings.Contains(logs, "revocation replica back in sync") {
			t.Errorf("instance %d: the replica's switch to and from out-of-sync is not in the log", i+1)
		}
		if ev["store_unavailable"] == 0 {
			t.Errorf("instance %d: no store_unavailable event for the outage: %v", i+1, ev)
		}
		if ev["refresh_reuse"] != 0 || ev["security_threat"] != 0 {
			t.Errorf("instance %d: the outage was taken for an attack: %v", i+1, ev)
		}
		writtenBack += ev["store_unavailable:redis_restarted_empty"]
	}
	if writtenBack == 0 {
		t.Error("no instance recorded writing its revocations back to the emptied Redis (redis_restarted_empty)")
	}

	// 3. A lost reply of the spend script. Instance one's only Redis
	// traffic now is the test's, so the reply lost is the spend's
	// (refresh_retry in the log says so; a background reply taking the
	// drop instead is retried with another refresh).
	sess := one.login("alice", "alice-password")
	for attempt := 1; ; attempt++ {
		retries := auditEvents(t, one)["token_refresh:refresh_retry"]
		dropped := proxy.Dropped()
		lost.armed.Store(true)
		res := one.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": sess.refresh}, "User-Agent", "fault-lost-reply")
		if res.status != 200 {
			t.Fatalf("refresh whose spend reply was lost: %d %s, want 200", res.status, res.raw)
		}
		if lost.armed.Load() || proxy.Dropped() != dropped+1 {
			t.Fatalf("the proxy lost %d replies, armed %v", proxy.Dropped()-dropped, lost.armed.Load())
		}
		sess = tokens{access: res.body["access_token"].(string), refresh: res.body["refresh_token"].(string)}
		if auditEvents(t, one)["token_refresh:refresh_retry"] == retries+1 {
			break
		}
		if attempt == 3 {
			t.Fatalf("three lost replies, none of them the spend's (no refresh_retry in the log):\n%s", one.log.String())
		}
	}
	for i, ts := range both {
		if res := ts.do("GET", "/api/me", sess.access, nil, "User-Agent", "fault-lost-reply"); res.status != 200 {
			t.Fatalf("instance %d: the access token of the refresh whose reply was lost: %d %s", i+1, res.status, res.raw)
		}
	}
	res := two.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": sess.refresh}, "User-Agent", "fault-lost-reply")
	if res.status != 200 {
		t.Fatalf("the refresh token of the refresh whose reply was lost, on instance two: %d %s", res.status, res.raw)
	}
	for i, ts := range both {
		if ev := auditEvents(t, ts); ev["refresh_reuse"] != 0 || ev["security_threat"] != 0 {
			t.Fatalf("instance %d: a lost reply was taken for reuse: %v\n%s", i+1, ev, ts.log.String())
		}
	}

	// 4. Reuse: a spent token replayed after its successor was used revokes
	// the family's access tokens everywhere.
	fam := one.login("admin", "admin-password")
	res = one.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": fam.refresh}, "User-Agent", "fault-reuse")
	if res.status != 200 {
		t.Fatalf("refresh: %d %s", res.status, res.raw)
	}
	res = two.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": res.body["refresh_token"].(string)}, "User-Agent", "fault-reuse")
	if res.status != 200 {
		t.Fatalf("the successor, on instance two: %d %s", res.status, res.raw)
	}
	latest := res.body["access_token"].(string)
	for i, ts := range both {
		waitStatus(t, ts, "family live, instance "+strconv.Itoa(i+1), latest, 200)
	}
	if res := two.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": fam.refresh}, "User-Agent", "fault-reuse"); res.status != 400 || res.body["error"] != "invalid_grant" {
		t.Fatalf("the spent token replayed: %d %s, want 400 invalid_grant", res.status, res.raw)
	}
	for i, ts := range both {
		waitStatus(t, ts, "family revoked by reuse, instance "+strconv.Itoa(i+1), latest, 401)
		waitStatus(t, ts, "family's first access token, instance "+strconv.Itoa(i+1), fam.access, 401)
	}
	if ev := auditEvents(t, two); ev["refresh_reuse"] != 1 {
		t.Fatalf("instance two: %d refresh_reuse events for one replay: %v", ev["refresh_reuse"], ev)
	}
	if s := httpLog.String(); strings.Contains(s, "panic") {
		t.Fatalf("a handler panicked:\n%s", s)
	}
}
