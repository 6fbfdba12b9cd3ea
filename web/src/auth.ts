// Sign-in and the token. The token lives in sessionStorage (this tab only, gone when the tab
// closes; never localStorage, which every tab and every later visit could read) and in memory.
// docs/security.md "The web client" says why.
import type { UserManager } from 'oidc-client-ts';

export type Role = 'admin' | 'sales' | 'marketing' | 'support' | 'partner' | 'customer';
export interface Session {
  token: string;
  role: Role;
  user: string;
  name: string;
}
export interface SignInConfig {
  signIn: 'development' | 'oidc';
  oidc?: { authority: string; clientId: string; scope: string };
}
export interface DemoUser {
  user: string;
  role: Role;
  name: string;
}

const KEY = 'turnkey.session';
let current: Session | null = null;

export function loadSession(): Session | null {
  if (current) return current;
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Session;
    if (tokenExpired(s.token)) {
      sessionStorage.removeItem(KEY);
      return null;
    }
    current = s;
    return s;
  } catch {
    sessionStorage.removeItem(KEY);
    return null;
  }
}

export function saveSession(s: Session | null): void {
  current = s;
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

function claims(token: string): Record<string, unknown> {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part)) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function tokenExpired(token: string): boolean {
  const exp = claims(token).exp;
  return typeof exp === 'number' && exp * 1000 < Date.now();
}

export async function fetchConfig(): Promise<SignInConfig> {
  const r = await fetch('/config.json', { cache: 'no-store' });
  if (!r.ok) throw new Error(`config.json: ${r.status}`);
  return (await r.json()) as SignInConfig;
}

export async function demoUsers(): Promise<DemoUser[]> {
  const r = await fetch('/dev/users');
  if (!r.ok) throw new Error(`dev users: ${r.status}`);
  return (await r.json()) as DemoUser[];
}

export async function devSignIn(user: string): Promise<Session> {
  const r = await fetch('/dev/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user }),
  });
  const body = (await r.json()) as { token?: string; role?: Role; user?: string; name?: string; error?: string };
  if (!r.ok || !body.token) throw new Error(body.error ?? `sign-in failed (${r.status})`);
  const s: Session = { token: body.token, role: body.role as Role, user: body.user ?? user, name: body.name ?? user };
  saveSession(s);
  return s;
}

// ---- OpenID Connect: authorization code with PKCE (oidc-client-ts does PKCE by default)
// loaded only when OIDC is used: development sign-in does not pay for the library
let manager: UserManager | null = null;
async function oidc(config: SignInConfig): Promise<UserManager> {
  if (!config.oidc?.authority) throw new Error('TURNKEY_OIDC_ISSUER is not configured');
  const { UserManager, WebStorageStateStore } = await import('oidc-client-ts');
  manager ??= new UserManager({
    authority: config.oidc.authority,
    client_id: config.oidc.clientId,
    redirect_uri: `${window.location.origin}/signin-callback`,
    post_logout_redirect_uri: `${window.location.origin}/`,
    response_type: 'code',
    scope: config.oidc.scope,
    userStore: new WebStorageStateStore({ store: window.sessionStorage }),
    stateStore: new WebStorageStateStore({ store: window.sessionStorage }),
  });
  return manager;
}

export async function oidcSignIn(config: SignInConfig): Promise<void> {
  await (await oidc(config)).signinRedirect();
}

export async function oidcCallback(config: SignInConfig): Promise<Session> {
  const u = await (await oidc(config)).signinRedirectCallback();
  // the access token carries the role claims the gateway checks (TURNKEY_JWT_CLAIM_NAMESPACE)
  const c = claims(u.access_token);
  const roleClaim = Object.keys(c).find((k) => k === 'role' || k.endsWith('/role'));
  const s: Session = {
    token: u.access_token,
    role: (roleClaim ? c[roleClaim] : 'customer') as Role,
    user: String(c.sub ?? ''),
    name: String(u.profile.name ?? c.sub ?? ''),
  };
  saveSession(s);
  return s;
}

export async function signOut(config: SignInConfig | null): Promise<void> {
  saveSession(null);
  if (config?.signIn === 'oidc' && manager) await manager.signoutRedirect();
}

export const isPortal = (role: Role) => role === 'partner' || role === 'customer';
