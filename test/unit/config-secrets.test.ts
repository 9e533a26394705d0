import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { config, databasePasswordProvider, resetConfig } from '../../shared/config';
import {
  DATABASE_PASSWORD_MAX_AGE_SECONDS,
  databaseUrlFromSecret,
  loadSecretsIntoEnvironment,
  resetSecretsProvider,
  SecretsLoadError,
} from '../../shared/config/secrets';
import { getSecretString, SecretsManagerError } from '../../shared/config/secrets-manager';
import { type FakeSecretsManager, startFakeSecretsManager } from '../../scripts/probe-bundle';
import { sdkAuthorization } from '../helpers/aws-signature';

const APP_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mira-app';
const DB_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mira-db';
const DB_SECRET = {
  username: 'mira',
  password: 'p@ss/word:1',
  dbname: 'mira',
  port: 5432,
  host: 'mira-db.abc.eu-west-1.rds.amazonaws.com',
};
let secretsManager: FakeSecretsManager;

const awsEnvironment = (): NodeJS.ProcessEnv => ({
  ...secretsManager.env,
  APP_SECRET_ARN: APP_ARN,
  DB_SECRET_ARN: DB_ARN,
  DB_PROXY_ENDPOINT: 'mira-proxy.proxy-abc.eu-west-1.rds.amazonaws.com',
  LAMBDA_TASK_ROOT: '/var/task',
});

beforeAll(async () => {
  secretsManager = await startFakeSecretsManager({});
});

afterAll(async () => {
  await secretsManager.close();
});

beforeEach(() => {
  resetSecretsProvider();
  secretsManager.calls.length = 0;
  secretsManager.requests.length = 0;
  secretsManager.secrets[APP_ARN] = { GEMINI_API_KEY: 'gemini-key', JWT_SECRET: 'jwt-secret' };
  secretsManager.secrets[DB_ARN] = DB_SECRET;
});

afterEach(() => {
  resetConfig();
});

describe('the Secrets Manager client', () => {
  it('signs GetSecretValue exactly as the AWS SDK signer does, session token included', async () => {
    await getSecretString(APP_ARN, secretsManager.env);

    const [received] = secretsManager.requests;
    const expected = await sdkAuthorization(received, 'secretsmanager', [
      'host',
      'content-length',
      'content-type',
      'x-amz-target',
    ]);
    expect(received.method).toBe('POST');
    expect(received.headers['x-amz-target']).toBe('secretsmanager.GetSecretValue');
    expect(received.headers['x-amz-security-token']).toBe('session-token');
    expect(JSON.parse(received.body)).toEqual({ SecretId: APP_ARN });
    expect(received.headers.authorization).toBe(expected);
  });

  it('retries throttling and server errors, then answers', async () => {
    secretsManager.failNext(APP_ARN, { status: 400, type: 'ThrottlingException' });
    secretsManager.failNext(APP_ARN, { status: 500, type: 'InternalServiceError' });

    const value = await getSecretString(APP_ARN, secretsManager.env);

    expect(JSON.parse(value).JWT_SECRET).toBe('jwt-secret');
    expect(secretsManager.calls).toEqual([APP_ARN, APP_ARN, APP_ARN]);
  });

  it('does not retry a refusal, and names it', async () => {
    secretsManager.failNext(APP_ARN, { status: 400, type: 'AccessDeniedException' });

    const error = await getSecretString(APP_ARN, secretsManager.env).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SecretsManagerError);
    expect((error as SecretsManagerError).code).toBe('AccessDeniedException');
    expect(secretsManager.calls).toHaveLength(1);
  });

  it('refuses to run without a region or credentials', async () => {
    const { AWS_REGION: _region, ...noRegion } = secretsManager.env;
    const { AWS_SECRET_ACCESS_KEY: _key, ...noKey } = secretsManager.env;

    await expect(getSecretString(APP_ARN, noRegion)).rejects.toThrow('AWS_REGION is not set');
    await expect(getSecretString(APP_ARN, noKey)).rejects.toThrow('No AWS credentials');
    expect(secretsManager.calls).toHaveLength(0);
  });

  it('gives up when Secrets Manager cannot be reached', async () => {
    const env = { ...secretsManager.env, AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:9' };

    await expect(getSecretString(APP_ARN, env)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('loading secrets in AWS', () => {
  it('fills the Gemini key, JWT secret and a TLS DATABASE_URL to the proxy', async () => {
    const env = awsEnvironment();

    await loadSecretsIntoEnvironment(env);

    expect(env.GEMINI_API_KEY).toBe('gemini-key');
    expect(env.JWT_SECRET).toBe('jwt-secret');
    const url = new URL(env.DATABASE_URL!);
    expect(url.hostname).toBe('mira-proxy.proxy-abc.eu-west-1.rds.amazonaws.com');
    expect(decodeURIComponent(url.password)).toBe('p@ss/word:1');
    expect(url.pathname).toBe('/mira');
    expect(env.DATABASE_SSL).toBe('require');
    expect(env.DATABASE_CA_FILE).toBe('/var/task/rds-ca-bundle.pem');
  });

  it('uses the database named in DB_NAME, which the RDS secret does not carry', async () => {
    const env: NodeJS.ProcessEnv = { ...awsEnvironment(), DB_NAME: 'mira_app' };

    await loadSecretsIntoEnvironment(env);

    expect(new URL(env.DATABASE_URL!).pathname).toBe('/mira_app');
  });

  it('makes the next config() see the secrets', async () => {
    const env = process.env;
    const saved = { ...env };
    Object.assign(env, awsEnvironment());
    try {
      expect(config().jwtSecret).toBe(saved.JWT_SECRET || undefined);

      await loadSecretsIntoEnvironment();

      expect(config().jwtSecret).toBe('jwt-secret');
      expect(config().databaseSsl).toBe('require');
    } finally {
      for (const key of Object.keys(env)) if (!(key in saved)) delete env[key];
      Object.assign(env, saved);
    }
  });

  it('reads each secret once per instance, however often it is asked', async () => {
    await loadSecretsIntoEnvironment(awsEnvironment());
    await loadSecretsIntoEnvironment(awsEnvironment());

    expect(secretsManager.calls.sort()).toEqual([APP_ARN, DB_ARN]);
  });

  it('leaves the Gemini key unset while the secret holds the placeholder', async () => {
    secretsManager.secrets[APP_ARN] = { GEMINI_API_KEY: 'REPLACE_ME', JWT_SECRET: 'jwt-secret' };
    const env = awsEnvironment();

    await loadSecretsIntoEnvironment(env);

    expect(env.GEMINI_API_KEY).toBeUndefined();
    expect(env.JWT_SECRET).toBe('jwt-secret');
  });

  it('fills Google and GitHub sign-in from the app secret, leaving placeholders unset', async () => {
    secretsManager.secrets[APP_ARN] = {
      JWT_SECRET: 'jwt-secret',
      GOOGLE_CLIENT_ID: 'google-id.apps.googleusercontent.com',
      GOOGLE_CLIENT_SECRET: 'google-secret',
      GITHUB_CLIENT_ID: 'REPLACE_ME',
      GITHUB_CLIENT_SECRET: '',
      OAUTH_REDIRECT_URI: 'https://app.mira.example/callback',
    };
    const env = awsEnvironment();

    await loadSecretsIntoEnvironment(env);

    expect(env).toMatchObject({
      GOOGLE_CLIENT_ID: 'google-id.apps.googleusercontent.com',
      GOOGLE_CLIENT_SECRET: 'google-secret',
      OAUTH_REDIRECT_URI: 'https://app.mira.example/callback',
    });
    expect(env.GITHUB_CLIENT_ID).toBeUndefined();
    expect(env.GITHUB_CLIENT_SECRET).toBeUndefined();
  });

  it('fails init with a named error when a secret cannot be read', async () => {
    secretsManager.failNext(DB_ARN, { status: 400, type: 'AccessDeniedException' });

    await expect(loadSecretsIntoEnvironment(awsEnvironment())).rejects.toThrow(SecretsLoadError);
  });

  it('asks again after a failed read instead of caching the failure', async () => {
    secretsManager.failNext(DB_ARN, { status: 400, type: 'AccessDeniedException' });
    await expect(loadSecretsIntoEnvironment(awsEnvironment())).rejects.toThrow(SecretsLoadError);

    const env = awsEnvironment();
    await loadSecretsIntoEnvironment(env);

    expect(new URL(env.DATABASE_URL!).username).toBe('mira');
  });

  it('shares one request between concurrent first reads', async () => {
    await Promise.all([
      loadSecretsIntoEnvironment(awsEnvironment()),
      loadSecretsIntoEnvironment(awsEnvironment()),
    ]);

    expect(secretsManager.calls.sort()).toEqual([APP_ARN, DB_ARN]);
  });

  it('refuses a secret that is not a JSON object', async () => {
    secretsManager.secrets[APP_ARN] = 'not json';

    await expect(loadSecretsIntoEnvironment(awsEnvironment())).rejects.toThrow(
      'Cannot read the application secret',
    );
  });

  it('does nothing locally, where no secret ARN is set', async () => {
    const env: NodeJS.ProcessEnv = { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres' };

    await loadSecretsIntoEnvironment(env);

    expect(env).toEqual({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres' });
    expect(secretsManager.calls).toHaveLength(0);
  });
});

describe('the rotated database password', () => {
  it('is re-read for new connections once the cached one is older than its maximum age', async () => {
    const now = Date.now();
    const clock = vi.spyOn(Date, 'now').mockReturnValue(now);
    try {
      await loadSecretsIntoEnvironment(awsEnvironment());
      const password = databasePasswordProvider()!;
      expect(await password()).toBe('p@ss/word:1');

      // Act: the secret is rotated, and time passes beyond the cache's maximum age.
      secretsManager.secrets[DB_ARN] = { username: 'mira', password: 'rotated', dbname: 'mira' };
      const beforeExpiry = await password();
      clock.mockReturnValue(now + (DATABASE_PASSWORD_MAX_AGE_SECONDS + 1) * 1000);
      const afterExpiry = await password();

      // Assess
      expect(beforeExpiry).toBe('p@ss/word:1');
      expect(afterExpiry).toBe('rotated');
    } finally {
      clock.mockRestore();
    }
  });
});

describe('databaseUrlFromSecret', () => {
  it('refuses a secret without credentials', () => {
    expect(() => databaseUrlFromSecret({ dbname: 'mira' }, 'proxy')).toThrow(SecretsLoadError);
  });
});
