// apiguard demo page. Plain JavaScript, no build step.
//
// It runs under a strict CSP (a nonce on this file only), so it never writes
// HTML: everything the API or a token says is shown with textContent. Tokens
// are kept in this closure only, never in web storage or a cookie.
'use strict';

(function () {
  const api = document.body.dataset.apiOrigin;
  const $ = (id) => document.getElementById(id);

  // The session, in memory only.
  let accessToken = null;
  let refreshToken = null;
  let revoked = false; // logged out: the token is kept to show that the API now refuses it
  let busy = false;
  let seq = 0;

  const buttons = ['login', 'me', 'admin', 'refresh', 'logout'].map($);

  // decodeSegment decodes one base64url segment of a JWS into a JSON value.
  function decodeSegment(segment) {
    let b64 = segment.replace(/-/g, '+').replace(/_/g, '/');
    while (b64.length % 4 !== 0) {
      b64 += '=';
    }
    const binary = atob(b64);
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  }

  function setText(el, text, muted) {
    el.textContent = text;
    el.classList.toggle('muted', Boolean(muted));
  }

  function showSession() {
    if (!accessToken) {
      setText($('session'), 'Not logged in.', true);
      setText($('claims'), 'No access token.', true);
      setText($('token-header'), 'No access token.', true);
      return;
    }
    const parts = accessToken.split('.');
    let claims;
    try {
      if (parts.length !== 3) {
        throw new Error('not a compact JWS');
      }
      setText($('token-header'), JSON.stringify(decodeSegment(parts[0]), null, 2), false);
      claims = decodeSegment(parts[1]);
      setText($('claims'), JSON.stringify(claims, null, 2), false);
    } catch (e) {
      setText($('claims'), 'The access token could not be decoded: ' + e.message, true);
      setText($('token-header'), '', true);
    }
    let text = 'Logged in';
    if (claims && typeof claims.sub === 'string') {
      text += ' as ' + claims.sub;
    }
    if (claims && typeof claims.exp === 'number') {
      text += '; the access token expires at ' + new Date(claims.exp * 1000).toLocaleString();
    }
    text += '.';
    if (revoked) {
      text = 'Logged out: the access token below was revoked. It is kept so that you can see the API refuse it.';
    }
    setText($('session'), text, revoked);
    $('session').classList.toggle('revoked', revoked);
  }

  // show displays one response (or a network failure) plainly.
  function show(method, path, status, statusText, headers, body, failed) {
    seq += 1;
    setText($('request'), method + ' ' + api + path, false);
    const st = $('status');
    st.textContent = failed ? 'request failed' : String(status) + (statusText ? ' ' + statusText : '');
    st.className = failed || status >= 400 ? 'error' : 'ok';
    st.dataset.status = failed ? '' : String(status);
    const h = $('headers');
    h.textContent = headers.join('\n');
    h.hidden = headers.length === 0;
    $('result').textContent = body;
    st.dataset.seq = String(seq); // last: the browser test waits for this
  }

  // call sends one request to the API and shows the answer. It resolves to
  // the parsed JSON body (or null), and never rejects.
  async function call(method, path, opts) {
    const headers = {};
    if (opts.bearer && accessToken) {
      headers.Authorization = 'Bearer ' + accessToken;
    }
    let body;
    if (opts.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.json);
    }
    let res;
    try {
      res = await fetch(api + path, {
        method: method,
        mode: 'cors',
        credentials: 'omit',
        cache: 'no-store',
        headers: headers,
        body: body,
      });
    } catch (e) {
      // CORS refusals and unreachable servers both land here; the browser
      // does not say which, on purpose.
      show(method, path, 0, '', [], String(e) + '\n(the API is unreachable or its CORS policy refused this origin)', true);
      return { status: 0, json: null };
    }
    const shown = [];
    for (const name of ['WWW-Authenticate', 'Retry-After', 'RateLimit', 'RateLimit-Policy']) {
      const v = res.headers.get(name);
      if (v !== null && (res.status >= 400 || name.startsWith('RateLimit'))) {
        shown.push(name + ': ' + v);
      }
    }
    const text = await res.text().catch(() => '');
    let json = null;
    let pretty = text;
    if (text !== '') {
      try {
        json = JSON.parse(text);
        pretty = JSON.stringify(json, null, 2);
      } catch (_) {
        // not JSON (204, or /healthz's "ok"): show it as it came
      }
    } else if (res.status === 204) {
      pretty = '(no content)';
    }
    show(method, path, res.status, res.statusText, shown, pretty, false);
    return { status: res.status, json: json };
  }

  function takeTokens(json) {
    if (json && typeof json.access_token === 'string') {
      accessToken = json.access_token;
      refreshToken = typeof json.refresh_token === 'string' ? json.refresh_token : null;
      revoked = false;
    }
    showSession();
  }

  // run serializes the buttons: one request at a time.
  async function run(fn) {
    if (busy) {
      return;
    }
    busy = true;
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await fn();
    } finally {
      busy = false;
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    run(async () => {
      const r = await call('POST', '/auth/login', {
        json: { username: $('username').value, password: $('password').value },
      });
      $('password').value = '';
      if (r.status === 200) {
        takeTokens(r.json);
      }
    });
  });

  $('me').addEventListener('click', () => run(() => call('GET', '/api/me', { bearer: true })));
  $('admin').addEventListener('click', () => run(() => call('GET', '/api/admin', { bearer: true })));

  $('refresh').addEventListener('click', () => run(async () => {
    const r = await call('POST', '/auth/refresh', { json: { refresh_token: refreshToken || '' } });
    if (r.status === 200) {
      takeTokens(r.json);
    }
  }));

  $('logout').addEventListener('click', () => run(async () => {
    const r = await call('POST', '/auth/logout', { bearer: true });
    if (r.status === 204 && accessToken) {
      revoked = true;
      showSession();
    }
  }));

  showSession();
  document.body.dataset.ready = 'true';
})();
