import { resetConfig } from '../../shared/config';
import type { TestApi } from './http';

/** Auth suites run with legacy id-only access off, as in production; restore the default afterwards. */
export function strictAuth(): { restore: () => void } {
  const before = process.env.LEGACY_NETWORK_AUTH;
  process.env.LEGACY_NETWORK_AUTH = 'false';
  resetConfig();
  return {
    restore: () => {
      process.env.LEGACY_NETWORK_AUTH = before;
      resetConfig();
    },
  };
}

export interface Account {
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  userId: string;
  networkId: string;
}

let counter = 0;

/** Register a fresh account through the API. */
export async function registerAccount(api: TestApi, name = `user${++counter}`): Promise<Account> {
  const email = `${name}@example.com`;
  const password = `pw-${name}-long-enough`;
  const res = await api.post('/api/v1/auth/register', { email, password, username: name });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${res.text}`);
  return {
    email,
    password,
    accessToken: res.body.access_token,
    refreshToken: res.body.refresh_token,
    userId: res.body.user.id,
    networkId: res.body.network_id,
  };
}

/** Create a network API key as its owner; answers the plain key. */
export async function createApiKey(
  api: TestApi,
  owner: Account,
  name = 'device',
): Promise<{ id: string; key: string }> {
  const res = await api.post(`/api/v1/${owner.networkId}/keys`, { name }, { token: owner.accessToken });
  if (res.status !== 201) throw new Error(`key creation failed: ${res.status} ${res.text}`);
  return { id: res.body.id, key: res.body.key };
}
