// apiguard demo page. Plain JavaScript, no build step.
//
// It runs under a strict CSP (a nonce on this file only), so it never writes
// HTML: everything the API or a token says is shown with textContent. Tokens
// are kept in this closure only, never in web storage or a cookie.
//
// With the DPoP switch on (RFC 9449), the page makes a P-256 key pair with
// WebCrypto whose private key is not extractable, logs in with a proof signed
// by it, and signs a fresh proof for every call; the API then binds the tokens
// to that key (cnf.jkt).
'use strict';

(function () {
  const api = document.body.dataset.apiOrigin;
  const $ = (id) => document.getElementById(id);

  // The session, in memory only.
  let accessToken = null;
  let refreshToken = null;
  let tokenType = 'Bearer'; // the login's token_type: "DPoP" when the tokens are bound to dpopKey
  let revoked = false; // logged out: the token is kept to show that the API now refuses it
  let busy = false;
  let seq = 0;
  let demoSeq = 0;

  // DPoP state: the key the session's tokens are bound to, the last nonce the
  // API sent (DPoP-Nonce), and the last API call made with a proof (for the
  // replay demonstration).
  let dpopKey = null;
  let dpopNonce = null;
  let lastSigned = null;

  const buttons = ['login', 'me', 'admin', 'refresh', 'logout', 'replay', 'stolen', 'dpop'].map($);
  const utf8 = new TextEncoder();

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

  function base64url(bytes) {
    let binary = '';
    for (let i = 0; i < bytes.length; i += 1) {
      binary += String.fromCharCode(bytes[i]);
    }
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  async function sha256(text) {
    return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', utf8.encode(text))));
  }

  // newDPoPKey makes a P-256 key pair whose private key cannot be exported
  // (extractable false applies to it; a public key is always exportable) and
  // returns it with its public JWK and RFC 7638 thumbprint.
  async function newDPoPKey() {
    const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    const full = await crypto.subtle.exportKey('jwk', pair.publicKey);
    const jwk = { kty: full.kty, crv: full.crv, x: full.x, y: full.y };
    // RFC 7638 §3: the required members in lexicographic order, no spaces.
    const jkt = await sha256(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }));
    return { privateKey: pair.privateKey, jwk: jwk, jkt: jkt };
  }

  // signProof returns a DPoP proof (RFC 9449 §4.2) for method and url, signed
  // by key: ath binds it to accessToken when one is given, nonce is the
  // server's last DPoP-Nonce. WebCrypto's ECDSA signature is already the raw
  // r||s that JWS ES256 wants.
  async function signProof(key, method, url, accessToken, nonce) {
    const u = new URL(url);
    u.search = '';
    u.hash = '';
    const claims = {
      jti: base64url(crypto.getRandomValues(new Uint8Array(16))),
      htm: method,
      htu: u.href,
      iat: Math.floor(Date.now() / 1000),
    };
    if (accessToken) {
      claims.ath = await sha256(accessToken);
    }
    if (nonce) {
      claims.nonce = nonce;
    }
    const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk };
    const input = base64url(utf8.encode(JSON.stringify(header))) + '.' + base64url(utf8.encode(JSON.stringify(claims)));
    const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.privateKey, utf8.encode(input));
    return input + '.' + base64url(new Uint8Array(sig));
  }

  function setText(el, text, muted) {
    el.textContent = text;
    el.classList.toggle('muted', Boolean(muted));
  }

  function showKey() {
    if (!dpopKey) {
      setText($('dpop-jwk'), 'No key.', true);
      setText($('dpop-jkt'), 'No key.', true);
      return;
    }
    setText($('dpop-jwk'), JSON.stringify(dpopKey.jwk, null, 2), false);
    setText($('dpop-jkt'), dpopKey.jkt, false);
  }

  function showDPoPState() {
    let text;
    if (!window.isSecureContext || !window.crypto || !crypto.subtle) {
      text = 'DPoP needs WebCrypto, which this browser offers only to secure contexts (https or loopback).';
    } else if (accessToken && tokenType === 'DPoP') {
      text = 'The session\'s tokens are bound to this page\'s key: every call carries a fresh proof signed by it.';
    } else if ($('dpop').checked) {
      text = 'DPoP is on: the next login makes a new key and asks for tokens bound to it.';
    } else {
      text = 'DPoP is off: the next login gets Bearer tokens.';
    }
    setText($('dpop-state'), text, !(accessToken && tokenType === 'DPoP'));
  }

  function showSession() {
    showKey();
    showDPoPState();
    if (!accessToken) {
      setText($('session'), 'Not logged in.', true);
      setText($('claims'), 'No access token.', true);
      setText($('token-header'), 'No access token.', true);
      setText($('cnf'), 'No access token.', true);
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
      if (claims && claims.cnf !== undefined) {
        setText($('cnf'), JSON.stringify(claims.cnf, null, 2), false);
      } else {
        setText($('cnf'), 'No cnf: a Bearer token, usable by whoever holds it.', true);
      }
    } catch (e) {
      setText($('claims'), 'The access token could not be decoded: ' + e.message, true);
      setText($('token-header'), '', true);
      setText($('cnf'), '', true);
    }
    let text = 'Logged in';
    if (claims && typeof claims.sub === 'string') {
      text += ' as ' + claims.sub;
    }
    text += ' (' + tokenType + ' token)';
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

  // send makes one request and reads its answer: { status, statusText,
  // shown (the headers worth showing), text, json, nonce } or { status: 0,
  // error } when the request failed. It never rejects.
  async function send(method, path, headers, body) {
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
      return { status: 0, error: String(e) };
    }
    const shown = [];
    for (const name of ['WWW-Authenticate', 'DPoP-Nonce', 'Retry-After', 'RateLimit', 'RateLimit-Policy']) {
      const v = res.headers.get(name);
      if (v !== null && (res.status >= 400 || name.startsWith('RateLimit') || name === 'DPoP-Nonce')) {
        shown.push(name + ': ' + v);
      }
    }
    const text = await res.text().catch(() => '');
    let json = null;
    if (text !== '') {
      try {
        json = JSON.parse(text);
      } catch (_) {
        // not JSON (204, or /healthz's "ok")
      }
    }
    return {
      status: res.status,
      statusText: res.statusText,
      shown: shown,
      text: text,
      json: json,
      nonce: res.headers.get('DPoP-Nonce'),
      challenge: res.headers.get('WWW-Authenticate') || '',
    };
  }

  // display shows an answer of send.
  function display(method, path, r) {
    if (r.status === 0) {
      // CORS refusals and unreachable servers both land here; the browser
      // does not say which, on purpose.
      show(method, path, 0, '', [], r.error + '\n(the API is unreachable or its CORS policy refused this origin)', true);
      return;
    }
    let pretty = r.text;
    if (r.json !== null) {
      pretty = JSON.stringify(r.json, null, 2);
    } else if (r.text === '' && r.status === 204) {
      pretty = '(no content)';
    }
    show(method, path, r.status, r.statusText, r.shown, pretty, false);
  }

  // wantsNonce reports whether the API refused a proof for lacking its
  // current nonce (RFC 9449 §8: 400 at the token endpoint, 401 with the
  // challenge's error at a resource).
  function wantsNonce(r) {
    return r.nonce !== null && (r.status === 400 || r.status === 401) &&
      ((r.json && r.json.error === 'use_dpop_nonce') || r.challenge.includes('error="use_dpop_nonce"'));
  }

  // call sends one request to the API and shows the answer. opts.token sends
  // the access token (Bearer, or DPoP with a proof bound to it when the
  // session is DPoP); opts.prove signs a proof without a token (the token
  // endpoint). A use_dpop_nonce refusal is retried once with the nonce it
  // carried. It resolves to { status, json } and never rejects.
  async function call(method, path, opts) {
    const key = opts.key || null;
    let proof = '';
    const build = async () => {
      const headers = {};
      const bound = opts.token && accessToken && key;
      if (opts.token && accessToken) {
        headers.Authorization = (bound ? 'DPoP ' : 'Bearer ') + accessToken;
      }
      if (key && (bound || opts.prove)) {
        proof = await signProof(key, method, api + path, bound ? accessToken : '', dpopNonce);
        headers.DPoP = proof;
      }
      if (opts.json !== undefined) {
        headers['Content-Type'] = 'application/json';
      }
      return headers;
    };
    const body = opts.json !== undefined ? JSON.stringify(opts.json) : undefined;
    let headers;
    try {
      headers = await build();
    } catch (e) {
      show(method, path, 0, '', [], 'could not sign a DPoP proof: ' + String(e), true);
      return { status: 0, json: null };
    }
    let r = await send(method, path, headers, body);
    if (r.nonce !== null) {
      dpopNonce = r.nonce;
    }
    if (key && wantsNonce(r)) {
      try {
        headers = await build();
      } catch (e) {
        show(method, path, 0, '', [], 'could not sign a DPoP proof: ' + String(e), true);
        return { status: 0, json: null };
      }
      r = await send(method, path, headers, body);
      if (r.nonce !== null) {
        dpopNonce = r.nonce;
      }
    }
    if (proof !== '' && opts.token) {
      lastSigned = { method: method, path: path, headers: headers, body: body };
    }
    display(method, path, r);
    return { status: r.status, json: r.json };
  }

  // sessionKey is the key the session's requests are signed with: the
  // session's own when its tokens are DPoP-bound, none otherwise.
  function sessionKey() {
    return tokenType === 'DPoP' ? dpopKey : null;
  }

  function takeTokens(json) {
    if (json && typeof json.access_token === 'string') {
      accessToken = json.access_token;
      refreshToken = typeof json.refresh_token === 'string' ? json.refresh_token : null;
      tokenType = json.token_type === 'DPoP' ? 'DPoP' : 'Bearer';
      revoked = false;
    }
    showSession();
  }

  // demo shows the outcome of a DPoP demonstration in #dpop-result, and
  // bumps its data-seq last (the browser test waits for it).
  function demo(lines) {
    demoSeq += 1;
    const out = $('dpop-result');
    out.textContent = lines.join('\n');
    out.dataset.seq = String(demoSeq);
  }

  // outcome is one line for demo: the status and the error the API gave.
  function outcome(what, r) {
    let line = what + ': ' + (r.status === 0 ? 'request failed' : String(r.status));
    if (r.json && typeof r.json.error === 'string') {
      line += ' ' + r.json.error;
    }
    if (r.challenge) {
      line += ' (WWW-Authenticate: ' + r.challenge + ')';
    }
    return line;
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
      let key = null;
      if ($('dpop').checked) {
        try {
          key = await newDPoPKey();
        } catch (e) {
          show('POST', '/auth/login', 0, '', [], 'could not make a DPoP key: ' + String(e), true);
          return;
        }
      }
      const r = await call('POST', '/auth/login', {
        json: { username: $('username').value, password: $('password').value },
        key: key,
        prove: true,
      });
      $('password').value = '';
      if (r.status === 200) {
        dpopKey = key;
        lastSigned = null;
        takeTokens(r.json);
      }
    });
  });

  $('me').addEventListener('click', () => run(() => call('GET', '/api/me', { token: true, key: sessionKey() })));
  $('admin').addEventListener('click', () => run(() => call('GET', '/api/admin', { token: true, key: sessionKey() })));

  $('refresh').addEventListener('click', () => run(async () => {
    // A DPoP-bound refresh token is refreshed with a proof of the same key.
    const r = await call('POST', '/auth/refresh', {
      json: { refresh_token: refreshToken || '' },
      key: sessionKey(),
      prove: true,
    });
    if (r.status === 200) {
      takeTokens(r.json);
    }
  }));

  $('logout').addEventListener('click', () => run(async () => {
    const r = await call('POST', '/auth/logout', { token: true, key: sessionKey() });
    if (r.status === 204 && accessToken) {
      revoked = true;
      showSession();
    }
  }));

  // replay sends the last signed API call again, proof and all: the API
  // remembers every proof's jti and refuses a second use (401).
  $('replay').addEventListener('click', () => run(async () => {
    if (!lastSigned) {
      demo(['No proof to replay yet: log in with DPoP on and call the API first.']);
      return;
    }
    const r = await send(lastSigned.method, lastSigned.path, lastSigned.headers, lastSigned.body);
    display(lastSigned.method, lastSigned.path, r);
    demo([outcome('The same proof again on ' + lastSigned.method + ' ' + lastSigned.path, r)]);
  }));

  // stolen uses the access token the way someone who copied it, but not its
  // key, could: as a Bearer token, and with a proof from a key of their own.
  $('stolen').addEventListener('click', () => run(async () => {
    if (!accessToken || tokenType !== 'DPoP') {
      demo(['No DPoP-bound token: log in with DPoP on first.']);
      return;
    }
    const asBearer = await send('GET', '/api/me', { Authorization: 'Bearer ' + accessToken });
    let other;
    try {
      const thief = await newDPoPKey();
      const proof = await signProof(thief, 'GET', api + '/api/me', accessToken, dpopNonce);
      other = await send('GET', '/api/me', { Authorization: 'DPoP ' + accessToken, DPoP: proof });
    } catch (e) {
      other = { status: 0, error: String(e), challenge: '', json: null };
    }
    display('GET', '/api/me', other);
    demo([
      outcome('As a Bearer token', asBearer),
      outcome('With a proof from another key', other),
    ]);
  }));

  $('dpop').addEventListener('change', showDPoPState);

  if (!window.isSecureContext || !window.crypto || !crypto.subtle) {
    $('dpop').checked = false;
    $('dpop').disabled = true;
    buttons.splice(buttons.indexOf($('dpop')), 1); // run() must not enable it again
  }
  showSession();
  document.body.dataset.ready = 'true';
})();
