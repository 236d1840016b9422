// Browser test of apiguard's example server and its demo page (make e2e).
//
// Drives the system Chromium (/usr/bin/chromium) with playwright-core against
// an example server that .ci/e2e has started, and asserts every step in the
// browser, from the page's DOM: a person logging in, calling the API
// cross-origin, being refused by role, logging out; a page on an origin the
// API does not allow failing to read its answers; the CSP blocking an
// injected inline script; a DPoP login whose tokens are bound to a key the
// page made with WebCrypto, a replayed proof and a token copied without its
// key being refused. Each step leaves a screenshot in E2E_SCREENSHOTS.
//
// Environment:
//   E2E_API_URL      the API's origin        (default http://127.0.0.1:8080)
//   E2E_APP_URL      the demo page's origin  (default http://127.0.0.1:8081)
//   E2E_SCREENSHOTS  screenshot folder       (default example/e2e/screenshots)
//   E2E_CHROMIUM     the browser             (default /usr/bin/chromium)
//   E2E_TIMEOUT_MS   the whole run's budget  (default 120000)

import { chromium } from 'playwright-core';
import http from 'node:http';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const env = process.env;
const API = (env.E2E_API_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
const APP = (env.E2E_APP_URL || 'http://127.0.0.1:8081').replace(/\/+$/, '');
const SHOTS = path.resolve(env.E2E_SCREENSHOTS || path.join(here, 'screenshots'));
const CHROMIUM = env.E2E_CHROMIUM || '/usr/bin/chromium';
const OVERALL_MS = Number(env.E2E_TIMEOUT_MS || 120000);
const STEP_MS = 20000;
const ACTION_MS = 10000;

// The whole run is bounded: a hung browser or server fails the test instead
// of holding CI.
const overall = setTimeout(() => {
  console.error(`e2e: FAIL the run took longer than ${OVERALL_MS} ms`);
  console.log('e2e: 0 passed, 1 failed');
  process.exit(1);
}, OVERALL_MS);
overall.unref();

class StepError extends Error {}

function assert(cond, message) {
  if (!cond) {
    throw new StepError(message);
  }
}

function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new StepError(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

// ---- console errors ---------------------------------------------------------

// Every console error and uncaught exception, with the step it happened in.
// Each step names the ones it expects; any other fails that step.
const consoleErrors = [];
let currentStep = '';

function watchConsole(page, label) {
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      consoleErrors.push({ step: currentStep, page: label, text: msg.text(), url: msg.location().url || '' });
    }
  });
  page.on('pageerror', (err) => {
    consoleErrors.push({ step: currentStep, page: label, text: 'uncaught: ' + err.message, url: '' });
  });
}

// Chromium reports every 4xx answer to fetch as a console error; the steps
// that ask for a 401, 403 or 400 expect those from the API and nothing else.
const httpErrorFromAPI = (statuses) => (e) =>
  e.page === 'app' && e.url.startsWith(API + '/') &&
  new RegExp(`^Failed to load resource: the server responded with a status of (${statuses.join('|')}) `).test(e.text);

// ---- the page's DOM ---------------------------------------------------------

async function text(page, selector) {
  return (await page.textContent(selector)) ?? '';
}

// click presses a button of the demo page and waits for the page to show the
// answer (app.js bumps #status's data-seq after rendering it), then returns
// what the page shows.
async function click(page, selector) {
  const before = Number(await page.getAttribute('#status', 'data-seq'));
  await page.click(selector);
  await page.waitForFunction(
    (n) => Number(document.getElementById('status').dataset.seq) > n,
    before,
    { timeout: ACTION_MS },
  );
  return {
    status: await text(page, '#status'),
    headers: await text(page, '#headers'),
    result: await text(page, '#result'),
    request: await text(page, '#request'),
  };
}

// clickDemo presses one of the DPoP demonstration buttons and waits for the
// page to show its outcome (app.js bumps #dpop-result's data-seq last).
async function clickDemo(page, selector) {
  const before = Number(await page.getAttribute('#dpop-result', 'data-seq'));
  await page.click(selector);
  await page.waitForFunction(
    (n) => Number(document.getElementById('dpop-result').dataset.seq) > n,
    before,
    { timeout: ACTION_MS },
  );
  return {
    outcome: await text(page, '#dpop-result'),
    status: await text(page, '#status'),
    headers: await text(page, '#headers'),
    result: await text(page, '#result'),
  };
}

function json(s, what) {
  try {
    return JSON.parse(s);
  } catch (e) {
    throw new StepError(`${what} is not JSON: ${JSON.stringify(s.slice(0, 200))}`);
  }
}

async function login(page, user, password) {
  await page.fill('#username', user);
  await page.fill('#password', password);
  const shown = await click(page, '#login');
  assert(shown.status.startsWith('200'), `login as ${user}: the page shows status ${JSON.stringify(shown.status)}; want 200 (${shown.result})`);
  assert(await page.inputValue('#password') === '', 'the password field was not cleared after login');
  return shown;
}

// ---- injected script ---------------------------------------------------------

// injectXSS runs in a page and injects markup the way a cross-site scripting
// hole would: an inline event handler, and a document whose parser meets an
// inline <script> (a srcdoc frame, which inherits the page's CSP). It reports
// whether either ran and the violations the page saw.
//
// It does not create a <script> element with document.createElement: under
// 'strict-dynamic' the browser trusts scripts that an already trusted script
// inserts, inline ones included (Chromium runs them), so that is not what the
// CSP stops. The demo page never builds markup or scripts from data (its
// tests forbid innerHTML and friends), and this step proves the markup path.
function injectXSS() {
  return new Promise((resolve) => {
    const seen = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      seen.push({ directive: e.effectiveDirective, blocked: e.blockedURI, disposition: e.disposition });
    });
    document.body.insertAdjacentHTML('beforeend',
      '<details open ontoggle="window.__pwnedAttr = 1"><summary>injected</summary></details>');
    const frame = document.createElement('iframe');
    frame.srcdoc = '<script>parent.__pwnedScript = 2<\/script>';
    frame.addEventListener('load', () => {
      // The toggle event is queued as a task: give it one more.
      setTimeout(() => {
        const own = document.querySelector('script[src="/app.js"]');
        resolve({
          pwnedAttr: String(window.__pwnedAttr),
          pwnedScript: String(window.__pwnedScript),
          seen,
          ownNonce: own ? own.nonce : '',
        });
      }, 100);
    });
    document.body.appendChild(frame);
  });
}

// ---- a page on an origin the API does not allow -----------------------------

function startForeignServer() {
  const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>not an allowed origin</title></head>
<body><h1>A page on an origin the API does not allow</h1><pre id="out">running</pre>
<script>
const API = ${JSON.stringify(API)};
async function probe(url, init) {
  try {
    const r = await fetch(url, init);
    return 'READ status=' + r.status + ' body=' + (await r.text());
  } catch (e) {
    return e.name + ': ' + e.message;
  }
}
(async () => {
  const out = {
    healthz: await probe(API + '/healthz', { mode: 'cors' }),
    me: await probe(API + '/api/me', { mode: 'cors', headers: { Authorization: 'Bearer x.y.z' } }),
    login: await probe(API + '/auth/login', { method: 'POST', mode: 'cors',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'alice-password' }) }),
  };
  document.getElementById('out').textContent = JSON.stringify(out, null, 2);
  document.body.dataset.done = 'true';
})();
</script></body></html>`;
  const server = http.createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(page);
    } else if (req.url === '/plain') {
      // A page without a CSP, for step 7's control.
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end('<!doctype html><html><head><meta charset="utf-8"><title>no CSP</title></head><body><h1>A page without a CSP</h1></body></html>');
    } else if (req.url === '/favicon.ico') {
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

// ---- the steps --------------------------------------------------------------

async function main() {
  await mkdir(SHOTS, { recursive: true });
  console.log(`e2e: API ${API}, app ${APP}, browser ${CHROMIUM}, screenshots in ${SHOTS}`);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: 30000,
  });
  const foreign = await startForeignServer();
  const foreignURL = `http://127.0.0.1:${foreign.address().port}/`;
  let passed = 0;
  let failed = 0;
  try {
    const context = await browser.newContext({ viewport: { width: 1100, height: 1000 } });
    context.setDefaultTimeout(ACTION_MS);
    const page = await context.newPage();
    watchConsole(page, 'app');
    let lastShot = page;

    const steps = [
      {
        name: '1 alice logs in and sees her claims',
        expect: [],
        async run() {
          const res = await page.goto(APP + '/', { waitUntil: 'load' });
          assert(res && res.status() === 200, `GET ${APP}/ answered ${res && res.status()}`);
          const csp = res.headers()['content-security-policy'] || '';
          assert(/script-src [^;]*'nonce-[^']+'/.test(csp) && csp.includes("'strict-dynamic'"),
            `the demo page's CSP has no script nonce with strict-dynamic: ${JSON.stringify(csp)}`);
          await page.waitForSelector('body[data-ready="true"]', { timeout: ACTION_MS });
          assert(await page.getAttribute('body', 'data-api-origin') === API,
            `the page names API origin ${await page.getAttribute('body', 'data-api-origin')}, want ${API}`);
          await login(page, 'alice', 'alice-password');
          const claims = json(await text(page, '#claims'), 'the claims shown');
          assert(claims.sub === 'alice', `claims.sub = ${JSON.stringify(claims.sub)}; want "alice"`);
          assert(JSON.stringify(claims.roles) === '["user"]', `claims.roles = ${JSON.stringify(claims.roles)}; want ["user"]`);
          assert(typeof claims.jti === 'string' && typeof claims.exp === 'number', 'the claims shown lack jti or exp');
          const header = json(await text(page, '#token-header'), 'the token header shown');
          assert(header.typ === 'at+jwt', `token header typ = ${JSON.stringify(header.typ)}; want at+jwt`);
          assert((await text(page, '#session')).includes('alice'), 'the session line does not name alice');
        },
      },
      {
        name: '2 /api/me shows 200 with sub alice',
        expect: [],
        async run() {
          const shown = await click(page, '#me');
          assert(shown.status.startsWith('200'), `the page shows status ${JSON.stringify(shown.status)}; want 200`);
          assert(shown.request === `GET ${API}/api/me`, `the page shows request ${JSON.stringify(shown.request)}`);
          const body = json(shown.result, '/api/me body');
          assert(body.sub === 'alice', `/api/me sub = ${JSON.stringify(body.sub)}; want alice`);
          assert(JSON.stringify(body.roles) === '["user"]', `/api/me roles = ${JSON.stringify(body.roles)}`);
        },
      },
      {
        name: '3 /api/admin shows 403 insufficient_scope for alice',
        expect: [httpErrorFromAPI([403])],
        async run() {
          const shown = await click(page, '#admin');
          assert(shown.status.startsWith('403'), `the page shows status ${JSON.stringify(shown.status)}; want 403`);
          assert(/WWW-Authenticate: Bearer .*error="insufficient_scope"/.test(shown.headers),
            `the page shows no WWW-Authenticate with insufficient_scope: ${JSON.stringify(shown.headers)}`);
          const body = json(shown.result, '/api/admin body');
          assert(body.error === 'insufficient_scope', `/api/admin error = ${JSON.stringify(body.error)}`);
        },
      },
      {
        name: '4 after logout /api/me shows 401 and the refresh token is dead',
        expect: [httpErrorFromAPI([400, 401])],
        async run() {
          const out = await click(page, '#logout');
          assert(out.status.startsWith('204'), `logout: the page shows status ${JSON.stringify(out.status)}; want 204`);
          const shown = await click(page, '#me');
          assert(shown.status.startsWith('401'), `/api/me after logout: the page shows ${JSON.stringify(shown.status)}; want 401`);
          // error="invalid_token" proves the revoked token was sent and refused,
          // not that the page simply sent none.
          assert(/WWW-Authenticate: Bearer .*error="invalid_token"/.test(shown.headers),
            `the 401 does not say invalid_token: ${JSON.stringify(shown.headers)}`);
          const body = json(shown.result, '/api/me body after logout');
          assert(body.error === 'invalid_token', `/api/me error = ${JSON.stringify(body.error)}`);
          const ref = await click(page, '#refresh');
          assert(ref.status.startsWith('400'), `refresh after logout: the page shows ${JSON.stringify(ref.status)}; want 400`);
          assert(json(ref.result, 'refresh body').error === 'invalid_grant', `refresh after logout: ${ref.result}`);
        },
      },
      {
        name: '5 admin logs in and /api/admin shows 200',
        expect: [],
        async run() {
          await login(page, 'admin', 'admin-password');
          const claims = json(await text(page, '#claims'), 'the claims shown');
          assert(claims.sub === 'admin' && Array.isArray(claims.roles) && claims.roles.includes('admin'),
            `admin's claims: ${JSON.stringify(claims)}`);
          const shown = await click(page, '#admin');
          assert(shown.status.startsWith('200'), `/api/admin: the page shows ${JSON.stringify(shown.status)}; want 200 (${shown.result})`);
          json(shown.result, '/api/admin body');
          // The refresh rotates the pair, and the page keeps working with it.
          const ref = await click(page, '#refresh');
          assert(ref.status.startsWith('200'), `refresh: the page shows ${JSON.stringify(ref.status)}; want 200`);
          const again = await click(page, '#admin');
          assert(again.status.startsWith('200'), `/api/admin after refresh: ${JSON.stringify(again.status)}; want 200`);
        },
      },
      {
        name: '6 a page on an origin that is not allowed cannot read the API',
        // The foreign page's refused fetches are logged by Chromium; they are
        // the point of this step.
        expect: [(e) => e.page === 'foreign'],
        async run() {
          // Control: from the allowed origin, the same request is readable, so
          // a TypeError below is CORS and not an unreachable server.
          const control = await page.evaluate(async (api) => {
            const r = await fetch(api + '/healthz', { mode: 'cors' });
            return r.status + ' ' + (await r.text()).trim();
          }, API);
          assert(control === '200 ok', `/healthz from the allowed origin read ${JSON.stringify(control)}; want "200 ok"`);

          const other = await page.context().newPage();
          watchConsole(other, 'foreign');
          lastShot = other;
          await other.goto(foreignURL, { waitUntil: 'load' });
          await other.waitForSelector('body[data-done="true"]', { timeout: ACTION_MS });
          const out = json(await text(other, '#out'), 'the foreign page\'s results');
          for (const [probe, result] of Object.entries(out)) {
            assert(typeof result === 'string' && result.startsWith('TypeError'),
              `from ${foreignURL} the ${probe} probe was not refused: ${JSON.stringify(result)}`);
          }
          await other.screenshot({ path: path.join(SHOTS, '06-foreign-origin.png'), fullPage: true });
          await other.close();
          lastShot = page;
        },
        shot: false,
      },
      {
        name: '7 the CSP blocks injected inline script',
        expect: [(e) => e.page === 'app' && /^Executing inline (event handler|script) violates the following Content Security Policy/.test(e.text)],
        async run() {
          const res = await page.goto(APP + '/', { waitUntil: 'load' });
          await page.waitForSelector('body[data-ready="true"]', { timeout: ACTION_MS });
          const csp = res.headers()['content-security-policy'] || '';
          const got = await page.evaluate(injectXSS);
          assert(got.pwnedAttr === 'undefined', `the injected inline event handler ran: ${got.pwnedAttr}`);
          assert(got.pwnedScript === 'undefined', `the injected inline <script> ran: ${got.pwnedScript}`);
          const v = got.seen.find((x) => x.directive === 'script-src-attr');
          assert(v && v.blocked === 'inline' && v.disposition === 'enforce',
            `no enforced script-src-attr securitypolicyviolation event was seen: ${JSON.stringify(got.seen)}`);
          // The framed document reports to its own listeners; the console
          // shows its violation.
          assert(consoleErrors.some((e) => e.step === currentStep && /^Executing inline script violates/.test(e.text)),
            'the browser reported no blocked inline <script>');
          // The page's own script carries the nonce the header allows.
          assert(got.ownNonce !== '' && csp.includes(`'nonce-${got.ownNonce}'`),
            'app.js does not carry the nonce of the CSP header');

          // Control: the same injection on a page without a CSP runs, so the
          // blocks above are the CSP's doing and not a broken payload.
          const plain = await page.context().newPage();
          watchConsole(plain, 'plain');
          lastShot = plain;
          await plain.goto(foreignURL + 'plain', { waitUntil: 'load' });
          const control = await plain.evaluate(injectXSS);
          assert(control.pwnedAttr === '1' && control.pwnedScript === '2',
            `without a CSP the payloads did not run (${JSON.stringify(control)}): the test proves nothing`);
          await plain.close();
          lastShot = page;
        },
      },
      {
        name: '8 a DPoP login binds the tokens to the page key and calls pass',
        // With -dpop-nonce (APIGUARD_DPOP_NONCE=true make e2e) the first
        // login proof has no nonce: 400 use_dpop_nonce, which the page
        // retries once with the DPoP-Nonce it got.
        expect: [(e) => httpErrorFromAPI([400])(e) && e.url === API + '/auth/login'],
        async run() {
          // A fresh page: step 7 left injected markup in the last one.
          await page.goto(APP + '/', { waitUntil: 'load' });
          await page.waitForSelector('body[data-ready="true"]', { timeout: ACTION_MS });
          assert(!(await page.isDisabled('#dpop')), 'the DPoP switch is disabled: no WebCrypto in this context');
          await page.check('#dpop');
          await login(page, 'alice', 'alice-password');
          assert((await text(page, '#session')).includes('DPoP token'), `the session line does not say DPoP: ${await text(page, '#session')}`);
          const jwk = json(await text(page, '#dpop-jwk'), 'the public JWK shown');
          assert(jwk.kty === 'EC' && jwk.crv === 'P-256' && typeof jwk.x === 'string' && typeof jwk.y === 'string' && jwk.d === undefined,
            `the page's public JWK: ${JSON.stringify(jwk)}`);
          const jkt = (await text(page, '#dpop-jkt')).trim();
          assert(/^[A-Za-z0-9_-]{43}$/.test(jkt), `the thumbprint shown is not a SHA-256 base64url: ${JSON.stringify(jkt)}`);
          const cnf = json(await text(page, '#cnf'), 'the cnf shown');
          assert(cnf.jkt === jkt, `the token's cnf.jkt ${JSON.stringify(cnf.jkt)} is not the page key's thumbprint ${jkt}`);
          const claims = json(await text(page, '#claims'), 'the claims shown');
          assert(claims.cnf && claims.cnf.jkt === jkt, `the claims shown: ${JSON.stringify(claims)}`);

          // The API checks the proof and reports the key it bound the token to.
          const me = await click(page, '#me');
          assert(me.status.startsWith('200'), `/api/me with DPoP: the page shows ${JSON.stringify(me.status)}; want 200 (${me.result} ${me.headers})`);
          const body = json(me.result, '/api/me body');
          assert(body.sub === 'alice' && body.cnf && body.cnf.jkt === jkt,
            `/api/me reports cnf ${JSON.stringify(body.cnf)}; want jkt ${jkt}, the cnf shown on the page`);

          // The refresh proves the same key, and the new tokens stay bound to it.
          const ref = await click(page, '#refresh');
          assert(ref.status.startsWith('200'), `refresh with DPoP: the page shows ${JSON.stringify(ref.status)}; want 200 (${ref.result})`);
          assert(json(ref.result, 'refresh body').token_type === 'DPoP', `refresh token_type: ${ref.result}`);
          assert(json(await text(page, '#cnf'), 'the cnf shown after refresh').jkt === jkt, 'the refreshed token is bound to another key');
          const again = await click(page, '#me');
          assert(again.status.startsWith('200'), `/api/me after refresh: ${JSON.stringify(again.status)}; want 200`);
        },
      },
      {
        name: '9 a replayed DPoP proof is refused',
        expect: [httpErrorFromAPI([401])],
        async run() {
          const got = await clickDemo(page, '#replay');
          assert(got.status.startsWith('401'), `the replayed proof: the page shows ${JSON.stringify(got.status)}; want 401 (${got.outcome})`);
          assert(/WWW-Authenticate: DPoP [^\n]*error="invalid_dpop_proof"/.test(got.headers),
            `the replay's 401 does not say invalid_dpop_proof on the DPoP challenge: ${JSON.stringify(got.headers)}`);
          assert(/^The same proof again on GET \/api\/me: 401 invalid_dpop_proof/.test(got.outcome), `the page's outcome: ${JSON.stringify(got.outcome)}`);
          // Control: a fresh proof for the same token still passes, so the 401
          // was the replay and not a dead session.
          const fresh = await click(page, '#me');
          assert(fresh.status.startsWith('200'), `/api/me with a fresh proof after the replay: ${JSON.stringify(fresh.status)}; want 200`);
        },
      },
      {
        name: '10 the token without its key is refused',
        expect: [httpErrorFromAPI([401])],
        async run() {
          const got = await clickDemo(page, '#stolen');
          const lines = got.outcome.split('\n');
          assert(lines.length === 2 && /^As a Bearer token: 401 /.test(lines[0]),
            `the token sent as Bearer was not refused with 401: ${JSON.stringify(got.outcome)}`);
          assert(/^With a proof from another key: 401 /.test(lines[1]),
            `the token with another key's proof was not refused with 401: ${JSON.stringify(got.outcome)}`);
          assert(got.status.startsWith('401') && got.headers.includes('WWW-Authenticate: DPoP '),
            `the last refusal shown: ${JSON.stringify(got.status)} ${JSON.stringify(got.headers)}`);
          // Control: with its own key the same token still works.
          const own = await click(page, '#me');
          assert(own.status.startsWith('200'), `/api/me with the page's key after the refusals: ${JSON.stringify(own.status)}; want 200`);
        },
      },
    ];

    let n = 0;
    for (const step of steps) {
      n += 1;
      currentStep = step.name;
      let err = null;
      try {
        await withTimeout(step.run(), STEP_MS, `step ${step.name}`);
      } catch (e) {
        err = e;
      }
      const unexpected = consoleErrors.filter((e) => e.step === step.name && !step.expect.some((ok) => ok(e)));
      if (!err && unexpected.length > 0) {
        err = new StepError('unexpected console errors:\n    ' + unexpected.map((e) => `[${e.page}] ${e.text} ${e.url}`).join('\n    '));
      }
      if (step.shot !== false || err) {
        const file = path.join(SHOTS, `${String(n).padStart(2, '0')}-${step.name.replace(/^\d+ /, '').replace(/[^a-z0-9]+/gi, '-').replace(/^-+|-+$/g, '').toLowerCase()}.png`);
        try {
          await withTimeout(lastShot.screenshot({ path: file, fullPage: true }), ACTION_MS, 'screenshot');
          console.log(`  screenshot: ${file}`);
        } catch (e) {
          console.log(`  screenshot failed: ${e.message}`);
        }
      } else {
        console.log(`  screenshot: ${path.join(SHOTS, '06-foreign-origin.png')}`);
      }
      if (err) {
        failed += 1;
        console.log(`FAIL ${step.name}: ${err instanceof StepError ? err.message : err.stack || err}`);
        if (lastShot !== page) {
          await lastShot.close().catch(() => {});
          lastShot = page;
        }
      } else {
        passed += 1;
        console.log(`PASS ${step.name}`);
      }
    }
  } finally {
    await browser.close().catch(() => {});
    foreign.close();
  }
  console.log(`e2e: ${passed} passed, ${failed} failed`);
  return failed === 0;
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (err) => {
    console.error(`e2e: FAIL ${err.stack || err}`);
    console.log('e2e: 0 passed, 1 failed');
    process.exit(1);
  },
);
