import "server-only";
import * as client from "openid-client";
import { z } from "zod";
import { isLoopbackHost } from "./transport";
import { env } from "@/lib/env";

/**
 * Optional sign-in with an OpenID Connect provider: authorization code flow with PKCE, state and
 * nonce (openid-client does the protocol and the ID token checks). The provider only proves who
 * someone is; what they may do comes from the console account of the same name, which an admin
 * creates as for password users. An identity with no account is refused, never created.
 */
export interface OidcSettings {
  issuer: URL;
  clientId: string;
  clientSecret: string;
  name: string;
  usernameClaim: string;
}

export const OIDC_COOKIE = "idem_oidc";
export const OIDC_COOKIE_PATH = "/api/auth/oidc";
/** Long enough to type a password and pass a second factor at the provider. */
export const OIDC_FLOW_TTL_S = 600;

export function oidcSettings(): OidcSettings | null {
  if (!env.IDEM_OIDC_ISSUER || !env.IDEM_OIDC_CLIENT_ID || !env.IDEM_OIDC_CLIENT_SECRET) return null;
  return {
    issuer: new URL(env.IDEM_OIDC_ISSUER),
    clientId: env.IDEM_OIDC_CLIENT_ID,
    clientSecret: env.IDEM_OIDC_CLIENT_SECRET,
    name: env.IDEM_OIDC_NAME,
    usernameClaim: env.IDEM_OIDC_USERNAME_CLAIM,
  };
}

/** Why a sign-in through the provider did not go through; the login page says it in words. */
export const oidcFailures = ["unavailable", "expired", "rejected", "no_username", "unverified", "unknown_account"] as const;
export type OidcFailure = (typeof oidcFailures)[number];

export class OidcSignInError extends Error {
  constructor(
    readonly failure: OidcFailure,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "OidcSignInError";
  }
}

const cache = globalThis as unknown as { idemOidcConfiguration?: Promise<client.Configuration> };

/** Discovery once per process; a failed discovery is forgotten so the next sign-in tries again. */
function configuration(settings: OidcSettings): Promise<client.Configuration> {
  cache.idemOidcConfiguration ??= client
    .discovery(settings.issuer, settings.clientId, settings.clientSecret, undefined, {
      // Plain http only for a provider on this machine (development, tests).
      execute: settings.issuer.protocol === "http:" && isLoopbackHost(settings.issuer.hostname) ? [client.allowInsecureRequests] : [],
      timeout: 10,
    })
    .catch((error: unknown) => {
      cache.idemOidcConfiguration = undefined;
      throw new OidcSignInError("unavailable", `the provider at ${settings.issuer.origin} could not be reached`, { cause: error });
    });
  return cache.idemOidcConfiguration;
}

const flowSchema = z.object({
  verifier: z.string().min(43).max(128),
  state: z.string().min(1).max(200),
  nonce: z.string().min(1).max(200),
  next: z.string().max(2000),
});
type Flow = z.infer<typeof flowSchema>;

const encodeFlow = (flow: Flow) => Buffer.from(JSON.stringify(flow)).toString("base64url");

function decodeFlow(value: string | undefined): Flow | null {
  if (!value || value.length > 4000) return null;
  try {
    const parsed = flowSchema.safeParse(JSON.parse(Buffer.from(value, "base64url").toString("utf8")));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Where to send the browser, and the cookie that carries this flow's secrets to the callback. */
export async function startOidcSignIn(settings: OidcSettings, redirectUri: string, next: string): Promise<{ url: URL; cookie: string }> {
  const config = await configuration(settings);
  const flow: Flow = { verifier: client.randomPKCECodeVerifier(), state: client.randomState(), nonce: client.randomNonce(), next };
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: "openid email profile",
    code_challenge: await client.calculatePKCECodeChallenge(flow.verifier),
    code_challenge_method: "S256",
    state: flow.state,
    nonce: flow.nonce,
  });
  return { url, cookie: encodeFlow(flow) };
}

/**
 * Checks the provider's answer against this browser's flow (state, PKCE verifier, nonce, and the ID
 * token's signature, issuer, audience and expiry) and returns the account name it vouches for.
 */
export async function finishOidcSignIn(
  settings: OidcSettings,
  callbackUrl: URL,
  flowCookie: string | undefined,
): Promise<{ username: string; next: string }> {
  const flow = decodeFlow(flowCookie);
  if (!flow) throw new OidcSignInError("expired", "the sign-in took too long or was started in another browser");
  const config = await configuration(settings);
  let claims: Record<string, unknown>;
  try {
    const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      idTokenExpected: true,
    });
    const idToken = tokens.claims();
    if (!idToken) throw new Error("the provider sent no ID token");
    claims = idToken;
    // Providers may keep profile claims out of the ID token when they issue an access token (OIDC
    // Core 5.4); then the UserInfo endpoint has them, for the same subject.
    if (claims[settings.usernameClaim] === undefined || (settings.usernameClaim === "email" && claims.email_verified === undefined)) {
      claims = { ...(await client.fetchUserInfo(config, tokens.access_token, idToken.sub)), ...idToken };
    }
  } catch (error) {
    throw new OidcSignInError("rejected", error instanceof Error ? error.message : String(error), { cause: error });
  }
  const value = claims[settings.usernameClaim];
  if (typeof value !== "string" || value.trim() === "") {
    throw new OidcSignInError("no_username", `the ID token has no "${settings.usernameClaim}" claim`);
  }
  // An email names an account only if the provider vouches for it: a missing email_verified is not a
  // yes (Entra ID and others let users set an unverified address: the "nOAuth" account takeover).
  // Some providers (Cognito) send the flag as the string "true".
  if (settings.usernameClaim === "email" && claims.email_verified !== true && claims.email_verified !== "true") {
    throw new OidcSignInError("unverified", "the provider does not say this email address is verified");
  }
  return { username: value.trim(), next: flow.next };
}
