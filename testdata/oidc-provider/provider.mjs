// A local OpenID Provider for coderd-rs: panva's oidc-provider (a certified
// implementation) with one static client and in-memory accounts.
//
// Environment:
//   PORT           port on 127.0.0.1 (default 0: any free port)
//   CLIENT_ID      default "coderd"
//   CLIENT_SECRET  default "coderd-secret"
//   REDIRECT_URIS  comma-separated; default
//                  http://127.0.0.1:3000/api/v2/users/oidc/callback
//   ACCOUNTS       JSON object: sub -> claims (email, email_verified,
//                  preferred_username, name, groups, roles, ...); default
//                  one account "alice"
//   ROGUE_JWKS=1   publish a different key than the one tokens are signed
//                  with (tests: "signed by a foreign key")
//
// Prints "LISTENING <issuer>" once it accepts connections.
//
// Sign-in needs no form: the authorize request's login_hint names the
// account (the test harness adds it; in a browser, add
// &login_hint=alice to the provider URL or use the default account), and
// consent is granted at once. Tests change an account's claims with
// PUT /__test/accounts/<sub> (JSON body).
import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const host = '127.0.0.1';
const port = Number(process.env.PORT || 0);
const clientId = process.env.CLIENT_ID || 'coderd';
const clientSecret = process.env.CLIENT_SECRET || 'coderd-secret';
const redirectUris = (process.env.REDIRECT_URIS || 'http://127.0.0.1:3000/api/v2/users/oidc/callback')
  .split(',')
  .filter(Boolean);
const accounts = new Map(
  Object.entries(
    JSON.parse(
      process.env.ACCOUNTS ||
        JSON.stringify({
          alice: {
            email: 'alice@example.com',
            email_verified: true,
            preferred_username: 'alice',
            name: 'Alice Liddell',
            groups: ['engineering'],
            roles: [],
          },
        }),
    ),
  ),
);
const defaultAccount = accounts.keys().next().value;

function signingKey(kid) {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
}
const key = signingKey('test-key');
const rogue = process.env.ROGUE_JWKS === '1' ? signingKey('test-key') : null;

const server = http.createServer();
server.listen(port, host, () => {
  const issuer = `http://${host}:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [key] },
    cookies: { keys: ['coderd-rs-test-cookie-key'] },
    scopes: ['openid', 'email', 'profile', 'groups', 'roles'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username', 'picture'],
      groups: ['groups'],
      roles: ['roles'],
    },
    // Every granted claim in the ID token too, not only from userinfo.
    conformIdTokenClaims: false,
    pkce: { required: () => false },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, sub) {
      const claims = accounts.get(sub);
      if (!claims) return undefined;
      return { accountId: sub, claims: async () => ({ ...claims, sub }) };
    },
  });
  const callback = provider.callback();

  server.on('request', async (req, res) => {
    try {
      const url = new URL(req.url, issuer);
      const m = url.pathname.match(/^\/__test\/accounts\/([^/]+)$/);
      if (m && req.method === 'PUT') {
        let body = '';
        for await (const chunk of req) body += chunk;
        accounts.set(decodeURIComponent(m[1]), JSON.parse(body));
        res.writeHead(204).end();
        return;
      }
      if (rogue && url.pathname === '/jwks') {
        const { d, p, q, dp, dq, qi, ...pub } = rogue;
        res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
        res.end(JSON.stringify({ keys: [pub] }));
        return;
      }
      if (url.pathname.startsWith('/interaction/')) {
        const details = await provider.interactionDetails(req, res);
        const { prompt, params, session } = details;
        if (prompt.name === 'login') {
          const sub = params.login_hint || defaultAccount;
          if (!accounts.has(sub)) {
            res.writeHead(400, { 'content-type': 'text/plain' }).end(`no account ${sub}`);
            return;
          }
          await provider.interactionFinished(req, res, { login: { accountId: sub } }, {
            mergeWithLastSubmission: false,
          });
          return;
        }
        const grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
        if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
        if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
        const grantId = await grant.save();
        await provider.interactionFinished(req, res, { consent: { grantId } }, {
          mergeWithLastSubmission: true,
        });
        return;
      }
      callback(req, res);
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
    }
  });
  console.log(`LISTENING ${issuer}`);
});
