// panva's oidc-provider set up to behave like GitLab's OAuth (Doorkeeper), for pac-tui's tests.
//
//   PORT=8080 PROVIDER_CONFIG='{"user": {...}, "clients": [...]}' node server.mjs   (or: node server.mjs 8080)
//
// PROVIDER_CONFIG: {"user": {"username", "password"},
//                   "clients": [{"client_id", "client_secret" (omit for a public app), "redirect_uris"}]}
//                  "device": {"interval": seconds (default 5), "ttl": seconds (default 600)}}
// Device flow (RFC 8628) on GitLab's paths: POST /oauth/authorize_device, the user types the code at
// /oauth/device. oidc-provider neither sends `interval` nor answers `slow_down`, so this file does
// both: a poll sooner than `interval` after the previous one gets `slow_down`.
// Test-only endpoints (no auth): GET /test/active?token=…  → {"active": bool}
//                                GET /test/token-requests?grant_type=…  → {"count": n}
//                                GET /test/slow-downs  → {"count": n}
import { randomBytes } from 'node:crypto';

import Provider, { errors } from 'oidc-provider';

const port = Number(process.argv[2] ?? process.env.PORT ?? 8080);
const issuer = `http://127.0.0.1:${port}`;
const config = JSON.parse(process.env.PROVIDER_CONFIG ?? '{}');
const device = { interval: 5, ttl: 600, ...(config.device ?? {}) };
const user = config.user ?? { username: 'operator', password: 'operator-password' };
const clients = (config.clients ?? [
  { client_id: 'confidential-app', client_secret: 'confidential-secret' },
  { client_id: 'public-app' },
]).map(({ client_id, client_secret, redirect_uris }) => ({
  client_id,
  ...(client_secret ? { client_secret } : {}),
  token_endpoint_auth_method: client_secret ? 'client_secret_post' : 'none',
  // 'native' makes oidc-provider ignore the port of loopback redirect URIs (RFC 8252 §7.3), as GitLab
  // does for IP literals. It also makes consent always asked, and allows 'localhost' with any port
  // (GitLab would want the port to match there).
  application_type: 'native',
  grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
  response_types: ['code'],
  redirect_uris: redirect_uris ?? ['http://127.0.0.1/callback'],
  scope: 'api',
}));

// In-memory storage with no size limit (the built-in one is an LRU of 1000 entries).
const storage = new Map(); // `${model}:${id}` → { payload, expiresAt }
class MapAdapter {
  constructor(model) { this.model = model; }

  async upsert(id, payload, expiresIn) {
    // An expired device code is kept a minute longer, so polling it says expired_token (as GitLab
    // does) rather than "not found".
    const grace = this.model === 'DeviceCode' ? 60 : 0;
    const expiresAt = expiresIn ? Date.now() + (expiresIn + grace) * 1000 : Infinity;
    storage.set(`${this.model}:${id}`, { payload, expiresAt });
  }

  async find(id) {
    const entry = storage.get(`${this.model}:${id}`);
    return entry && entry.expiresAt > Date.now() ? entry.payload : undefined;
  }

  async #findBy(field, value) {
    const prefix = `${this.model}:`;
    for (const [key, { payload }] of storage) {
      if (key.startsWith(prefix) && payload[field] === value) return this.find(key.slice(prefix.length));
    }
    return undefined;
  }

  findByUid(uid) { return this.#findBy('uid', uid); }
  findByUserCode(userCode) { return this.#findBy('userCode', userCode); }
  async consume(id) { storage.get(`${this.model}:${id}`).payload.consumed = Math.floor(Date.now() / 1000); }
  async destroy(id) { storage.delete(`${this.model}:${id}`); }

  async revokeByGrantId(grantId) {
    for (const [key, { payload }] of storage) if (payload.grantId === grantId) storage.delete(key);
  }
}

const provider = new Provider(issuer, {
  adapter: MapAdapter,
  clients,
  cookies: { keys: [randomBytes(32).toString('hex')] },
  routes: {
    authorization: '/oauth/authorize',
    token: '/oauth/token',
    revocation: '/oauth/revoke',
    introspection: '/oauth/introspect',
    device_authorization: '/oauth/authorize_device',
    code_verification: '/oauth/device',
  },
  scopes: ['api'],
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true, allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId },
    introspection: { enabled: true, allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId },
    resourceIndicators: { enabled: false },
    deviceFlow: {
      enabled: true,
      userCodeInputSource: async (ctx, form, out, err) => {
        ctx.body = page('Enter the code', `${err ? '<p>The code is not valid; try again.</p>' : ''}${form}
          <button type="submit" form="op.deviceInputForm">Continue</button>`);
      },
      userCodeConfirmSource: async (ctx, form, client, deviceInfo, userCode) => {
        ctx.body = page('Confirm the device', `<p>${escape(client.clientId)} shows the code
          <code>${escape(userCode)}</code>.</p>${form}
          <button type="submit" form="op.deviceConfirmForm">Continue</button>
          <button type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>`);
      },
      successSource: async (ctx) => {
        ctx.body = page('Device authorized', '<p>You can close this page.</p>');
      },
    },
  },
  pkce: { required: () => true, methods: ['S256'] },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  // GitLab revokes the access/refresh pair whichever of the two is revoked.
  revokeGrantPolicy: () => true,
  // Every authorization is a new grant (as every GitLab authorization makes a new token).
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId;
    return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
  },
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  ttl: {
    AccessToken: 7200,
    AuthorizationCode: 600,
    RefreshToken: 30 * 24 * 3600,
    Grant: 30 * 24 * 3600,
    Session: 24 * 3600,
    Interaction: 3600,
    IdToken: 3600,
    DeviceCode: device.ttl,
  },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('Error', Object.entries(out).map(([k, v]) => `<p>${k}: ${escape(String(v))}</p>`).join(''));
  },
});

function escape(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head>`
    + `<body><h1>${title}</h1>${body}</body></html>`;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

function loginPage(uid, error = '') {
  return page('Sign in', `${error ? `<p>${escape(error)}</p>` : ''}
    <form method="post" action="/interaction/${uid}/login">
      <label>Username <input name="username" autofocus></label>
      <label>Password <input name="password" type="password"></label>
      <button type="submit">Sign in</button>
    </form>`);
}

function consentPage(uid, clientId, scope) {
  return page('Authorize application', `
    <p>${escape(clientId)} asks for access to your account with scope <code>${escape(scope)}</code>.</p>
    <form method="post" action="/interaction/${uid}/consent">
      <button type="submit" name="decision" value="authorize">Authorize</button>
      <button type="submit" name="decision" value="deny">Deny</button>
    </form>`);
}

// Login and consent pages.
async function interactions(ctx) {
  const [, uid, action] = ctx.path.match(/^\/interaction\/([^/]+)(?:\/(login|consent))?$/) ?? [];
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params } = details;
  ctx.type = 'html';

  if (uid !== details.uid) {
    ctx.status = 400;
    ctx.body = page('Bad request', '<p>Unknown interaction.</p>');
  } else if (ctx.method === 'GET' && !action) {
    ctx.body = prompt.name === 'login' ? loginPage(uid) : consentPage(uid, params.client_id, params.scope);
  } else if (ctx.method === 'POST' && action === 'login' && prompt.name === 'login') {
    const form = await readForm(ctx.req);
    if (form.get('username') !== user.username || form.get('password') !== user.password) {
      ctx.status = 401;
      ctx.body = loginPage(uid, 'Invalid username or password.');
      return;
    }
    const result = { login: { accountId: user.username } };
    ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false }));
  } else if (ctx.method === 'POST' && action === 'consent' && prompt.name === 'consent') {
    const form = await readForm(ctx.req);
    let result;
    if (form.get('decision') === 'authorize') {
      const grant = new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
      grant.addOIDCScope(params.scope ?? '');
      result = { consent: { grantId: await grant.save() } };
    } else {
      result = { error: 'access_denied', error_description: 'The resource owner denied the request.' };
    }
    ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true }));
  } else {
    ctx.status = 400;
    ctx.body = page('Bad request', '');
  }
}

const tokenRequests = new Map(); // grant_type → count, whatever the outcome
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const lastPolls = new Map(); // device_code → time of the previous poll (ms)
let slowDowns = 0;

// RFC 8628 §3.5: a poll sooner than `interval` after the previous one is answered `slow_down`.
function paceDevicePolls(ctx) {
  const code = ctx.oidc?.params?.device_code;
  if (ctx.oidc?.body?.grant_type !== DEVICE_GRANT || !code || ctx.body?.error !== 'authorization_pending') return;
  const now = Date.now();
  const last = lastPolls.get(code);
  lastPolls.set(code, now);
  if (last !== undefined && now - last < device.interval * 1000) {
    slowDowns += 1;
    ctx.body = { error: 'slow_down', error_description: 'you are polling too quickly and should back off' };
  }
}

async function isActive(token) {
  const found = await provider.AccessToken.find(token) ?? await provider.RefreshToken.find(token);
  return Boolean(found && !found.isExpired && !found.consumed);
}

// GitLab revokes the old access token when its refresh token is used; oidc-provider keeps it valid.
// With rotation every grant has one live pair, so: drop the grant's other access tokens.
function revokeOlderAccessTokens(ctx) {
  const { RotatedRefreshToken: rotated, AccessToken: issued } = ctx.oidc.entities;
  if (ctx.status !== 200 || !rotated || !issued) return;
  for (const [key, { payload }] of storage) {
    if (key.startsWith('AccessToken:') && payload.grantId === rotated.grantId && payload.jti !== issued.jti) {
      storage.delete(key);
    }
  }
}

provider.use(async (ctx, next) => {
  if (ctx.method === 'GET' && ctx.path === '/test/active') {
    ctx.body = { active: await isActive(ctx.query.token ?? '') };
  } else if (ctx.method === 'GET' && ctx.path === '/test/token-requests') {
    ctx.body = { count: tokenRequests.get(ctx.query.grant_type) ?? 0 };
  } else if (ctx.method === 'GET' && ctx.path === '/test/slow-downs') {
    ctx.body = { count: slowDowns };
  } else if (ctx.method === 'POST' && ctx.path === '/oauth/authorize_device') {
    await next();
    if (ctx.status === 200 && ctx.body?.device_code) ctx.body = { ...ctx.body, interval: device.interval };
  } else if (ctx.path.startsWith('/interaction/')) {
    try {
      await interactions(ctx);
    } catch (err) {
      if (!(err instanceof errors.SessionNotFound)) throw err;
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = page('Error', `<p>${escape(err.message)}</p>`);
    }
  } else if (ctx.method === 'POST' && ctx.path === '/oauth/token') {
    try {
      await next();
    } finally {
      const grantType = ctx.oidc?.body?.grant_type ?? '';
      tokenRequests.set(grantType, (tokenRequests.get(grantType) ?? 0) + 1);
    }
    paceDevicePolls(ctx);
    revokeOlderAccessTokens(ctx);
  } else {
    await next();
  }
});

const server = provider.listen(port, '127.0.0.1', () => console.log(`listening on ${issuer}`));
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
