// A real OpenID Connect provider for Relcal's tests: node's oidc-provider, configured from the
// JSON file named by argv[2] (tests/oidc_provider.py writes it).
//
//     node tests/oidc/provider.mjs /tmp/relcal-oidc-xyz/config.json
//
// The file is read once for the port, issuer and signing keys, and RE-READ ON EVERY LOOKUP for
// clients, accounts, the ID token lifetime and the response delay, so a test changes them by
// rewriting the file (atomically) without restarting the provider.
//
// {
//   "port": 41234, "issuer": "http://127.0.0.1:41234",
//   "jwks": {"keys": [<private RS256 JWK with kid>]},
//   "clients": [{"client_id": "...", "client_secret": "...", "redirect_uris": [...],
//                "post_logout_redirect_uris": [...], "token_endpoint_auth_method": "..."}],
//   "accounts": {"<sub>": {"password": "...", "email": "...", "groups": [...], ...}},
//   "id_token_ttl": 3600, "delay_ms": 0
// }
//
// Sign-in is a plain HTML form (fields `login` and `password`) that refuses a wrong password;
// consent is granted without a screen. Logs go to stderr; SIGTERM stops it cleanly.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

// oidc-provider 9 warns "Unsupported runtime" below Node 22; it runs on Node 20.20, which the
// harness tests (tests/relcal/test_oidc_harness.py) prove on every run.
import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';

const configPath = process.argv[2];
if (!configPath) {
  console.error('usage: node provider.mjs <config.json>');
  process.exit(2);
}

let lastGood;
function config() {
  // Python replaces the file atomically, so a failed parse means a broken file: keep serving
  // the last good configuration and say so rather than answering 500 to every request.
  try {
    lastGood = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (error) {
    if (!lastGood) throw error;
    console.error(`oidc: cannot read ${configPath}, using the previous configuration: ${error}`);
  }
  return lastGood;
}

const log = (...parts) => console.error('oidc:', ...parts);

const startup = config();
const CLIENT_DEFAULTS = {
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  id_token_signed_response_alg: 'RS256',
  // auth_time in every ID token, not only when max_age is asked: Relcal checks it for
  // re-authentication before a signature.
  require_auth_time: true,
};

// Clients come from the file at request time (a test registers its live server's callback
// URL, on a random port, while the provider runs). oidc-provider caches dynamic clients by a
// hash of their metadata, so a changed entry is a new client object; everything else
// (sessions, codes, grants, interactions) stays in memory.
class Adapter {
  constructor(name) {
    if (name !== 'Client') this.delegate = new MemoryAdapter(name);
  }

  async find(id) {
    if (this.delegate) return this.delegate.find(id);
    const found = (config().clients || []).find((client) => client.client_id === id);
    return found ? { ...CLIENT_DEFAULTS, ...found } : undefined;
  }

  async upsert(id, payload, expiresIn) {
    if (this.delegate) return this.delegate.upsert(id, payload, expiresIn);
    throw new Error('clients are registered in the configuration file');
  }

  async findByUid(uid) { return this.delegate.findByUid(uid); }

  async findByUserCode(code) { return this.delegate.findByUserCode(code); }

  async consume(id) { return this.delegate.consume(id); }

  async destroy(id) { return this.delegate?.destroy(id); }

  async revokeByGrantId(grantId) { return this.delegate?.revokeByGrantId(grantId); }
}

function accountFor(id) {
  const accounts = config().accounts || {};
  return Object.hasOwn(accounts, id) ? accounts[id] : undefined;
}

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body><main><h1>${escape(title)}</h1>
${body}
</main></body></html>`;
}

function loginPage(uid, { login = '', error = '', clientId = '' } = {}) {
  return page('Sign in to the test provider', `
<p>Signing in to <code>${escape(clientId)}</code>.</p>
${error ? `<p role="alert" class="error">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}" autocomplete="off">
  <label>Login <input name="login" value="${escape(login)}" autofocus></label>
  <label>Password <input name="password" type="password"></label>
  <button type="submit">Sign in</button>
</form>`);
}

const provider = new Provider(startup.issuer, {
  adapter: Adapter,
  clients: [],
  jwks: startup.jwks,
  clientDefaults: CLIENT_DEFAULTS,
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  responseTypes: ['code'],
  // The `groups` scope asks for the `groups` claim; the standard scopes for the rest.
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  // Scope claims in the ID token too, as most company providers do (Relcal reads the ID token).
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        // The stock page @imports a web font; a test browser has no internet.
        ctx.body = page('Sign out of the test provider', `${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Signed out', '<p>You are signed out of the test provider.</p>');
      },
    },
  },
  async findAccount(ctx, sub) {
    if (!accountFor(sub)) return undefined;
    return {
      accountId: sub,
      async claims() {
        // Read again: claims a test changes after sign-in show in the next token.
        const { password, ...claims } = accountFor(sub) || {};
        return { ...claims, sub };
      },
    };
  },
  // No consent screen: the grant always covers the scopes and claims the client asks for.
  async loadExistingGrant(ctx) {
    const { session, client, account, provider: op } = ctx.oidc;
    const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
    let grant = grantId ? await op.Grant.find(grantId) : undefined;
    if (!grant || grant.accountId !== account.accountId) {
      grant = new op.Grant({ accountId: account.accountId, clientId: client.clientId });
    }
    grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(' '));
    grant.addOIDCClaims([...ctx.oidc.requestParamClaims]);
    await grant.save();
    return grant;
  },
  ttl: {
    IdToken: () => Number(config().id_token_ttl ?? 3600),
    AccessToken: 3600,
    AuthorizationCode: 60,
    Interaction: 3600,
    Session: 24 * 3600,
    Grant: 24 * 3600,
  },
  cookies: {
    // Signed with a key of this run. Over plain http on 127.0.0.1 oidc-provider sets no Secure
    // flag (it follows ctx.secure), and SameSite=Lax cookies go with the top-level redirects
    // between Relcal and the provider (one site: ports do not count).
    keys: [randomBytes(32).toString('base64url')],
    names: { session: 'op_session', interaction: 'op_interaction', resume: 'op_resume' },
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', Object.entries(out)
      .map(([key, value]) => `<p><strong>${escape(key)}</strong>: ${escape(value)}</p>`).join(''));
  },
});

// Every response slowed down by `delay_ms` (timeout tests), and one log line per request.
provider.use(async (ctx, next) => {
  const started = Date.now();
  const delay = Number(config().delay_ms || 0);
  if (delay > 0) await sleep(delay);
  try {
    await next();
  } finally {
    log(`${ctx.method} ${ctx.path} ${ctx.status} ${Date.now() - started}ms`);
  }
});

// The sign-in interaction: a form that checks the password of the account in the file.
provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([\w-]+)$/.exec(ctx.path);
  if (!match || !['GET', 'POST'].includes(ctx.method)) return next();
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'html';
  let details;
  try {
    details = await provider.interactionDetails(ctx.req, ctx.res);
  } catch (error) {
    ctx.status = 400;
    ctx.body = page('Error', `<p>${escape(error.error_description || error.message)}</p>`);
    return undefined;
  }
  const { uid, prompt, params } = details;
  if (uid !== match[1]) {
    ctx.status = 400;
    ctx.body = page('Error', '<p>This sign-in has expired; start again.</p>');
    return undefined;
  }
  if (prompt.name !== 'login') {
    // Consent is granted by loadExistingGrant; anything else is a configuration mistake.
    ctx.status = 501;
    ctx.body = page('Error', `<p>Prompt ${escape(prompt.name)} is not supported.</p>`);
    return undefined;
  }
  if (ctx.method === 'GET') {
    ctx.body = loginPage(uid, { clientId: params.client_id, login: params.login_hint || '' });
    return undefined;
  }
  const form = new URLSearchParams(await readBody(ctx.req));
  const login = form.get('login') || '';
  const account = accountFor(login);
  if (!account || typeof account.password !== 'string' || account.password !== form.get('password')) {
    log(`sign-in refused for ${JSON.stringify(login)}`);
    ctx.status = 401;
    ctx.body = loginPage(uid, { login, error: 'Wrong login or password.', clientId: params.client_id });
    return undefined;
  }
  await provider.interactionFinished(ctx.req, ctx.res, {
    login: { accountId: login, amr: ['pwd'], remember: true },
  }, { mergeWithLastSubmission: false });
  ctx.respond = false;
  return undefined;
});

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

for (const event of ['server_error', 'authorization.error', 'grant.error', 'end_session.error',
  'userinfo.error', 'jwks.error', 'discovery.error', 'interaction.error']) {
  provider.on(event, (ctx, error) => log(`${event}: ${error.message} ${error.error_description || ''}`));
}

const server = provider.listen(startup.port, '127.0.0.1', () => {
  log(`listening on ${startup.issuer}`);
});

function stop(signal) {
  log(`${signal}: stopping`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
