import { afterEach, describe, expect, it } from 'vitest';
import { readConfig, resetConfig } from '../../shared/config';
import { hashApiKey, generateApiKey, isApiKey } from '../../shared/auth/api-keys';
import {
  signAccessToken,
  signRefreshToken,
  verifyAccessToken,
  verifyRefreshToken,
} from '../../shared/auth/tokens';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
  resetConfig();
});

const U1 = '11111111-1111-4111-8111-111111111111';
const U2 = '22222222-2222-4222-8222-222222222222';

describe('tokens', () => {
  it('signs access tokens for 30 minutes and refresh tokens for 7 days, with sub and type', async () => {
    const access = await verifyAccessToken(await signAccessToken(U1));
    expect(access).toMatchObject({ sub: U1, type: 'access', iss: 'mira' });
    expect(access.exp! - access.iat!).toBe(30 * 60);
    const { token, jti } = await signRefreshToken(U1, 'fam-1');
    const refresh = await verifyRefreshToken(token);
    expect(refresh).toMatchObject({ sub: U1, type: 'refresh', jti, fam: 'fam-1' });
    expect(refresh.exp! - refresh.iat!).toBe(7 * 24 * 3600);
  });

  it('works without JWT_SECRET in local development, with a per-process secret', async () => {
    delete process.env.JWT_SECRET;
    delete process.env.STAGE;
    delete process.env.NODE_ENV;
    resetConfig();
    const token = await signAccessToken(U2);
    expect((await verifyAccessToken(token)).sub).toBe(U2);
  });

  it('refuses to sign without JWT_SECRET in production', async () => {
    delete process.env.JWT_SECRET;
    process.env.STAGE = 'prod';
    resetConfig();
    await expect(signAccessToken('u-3')).rejects.toThrow(/JWT_SECRET/);
  });
});

describe('configuration', () => {
  it('keeps legacy network access off in production whatever LEGACY_NETWORK_AUTH says', () => {
    expect(readConfig({ LEGACY_NETWORK_AUTH: 'true' }).legacyNetworkAuth).toBe(true);
    expect(readConfig({ LEGACY_NETWORK_AUTH: 'true', STAGE: 'prod' }).legacyNetworkAuth).toBe(false);
    expect(readConfig({ LEGACY_NETWORK_AUTH: 'true', NODE_ENV: 'production' }).legacyNetworkAuth).toBe(false);
    expect(readConfig({}).legacyNetworkAuth).toBe(false);
  });
});

describe('API keys', () => {
  it('generates distinct mk_ keys whose prefix is shown and whose hash is stored', () => {
    const one = generateApiKey();
    const two = generateApiKey();
    expect(one.key).not.toBe(two.key);
    expect(isApiKey(one.key)).toBe(true);
    expect(one.key.startsWith(one.prefix)).toBe(true);
    expect(one.hash).toBe(hashApiKey(one.key));
    expect(one.hash).not.toContain(one.key.slice(3));
  });
});
