import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { config, databasePasswordProvider, resetConfig } from '../../shared/config';
import {
  DATABASE_PASSWORD_MAX_AGE_SECONDS,
  databaseUrlFromSecret,
  loadSecretsIntoEnvironment,
  resetSecretsProvider,
  SecretsLoadError,
} from '../../shared/config/secrets';

const APP_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mira-app';
const DB_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mira-db';
const secretsManager = mockClient(SecretsManagerClient);

const awsEnvironment = (): NodeJS.ProcessEnv => ({
  APP_SECRET_ARN: APP_ARN,
  DB_SECRET_ARN: DB_ARN,
  DB_PROXY_ENDPOINT: 'mira-proxy.proxy-abc.eu-west-1.rds.amazonaws.com',
  LAMBDA_TASK_ROOT: '/var/task',
  AWS_REGION: 'eu-west-1',
});

beforeEach(() => {
  secretsManager.reset();
  resetSecretsProvider();
  secretsManager.on(GetSecretValueCommand, { SecretId: APP_ARN }).resolves({
    SecretString: JSON.stringify({ GEMINI_API_KEY: 'gemini-key', JWT_SECRET: 'jwt-secret' }),
  });
  secretsManager.on(GetSecretValueCommand, { SecretId: DB_ARN }).resolves({
    SecretString: JSON.stringify({
      username: 'mira',
      password: 'p@ss/word:1',
      dbname: 'mira',
      port: 5432,
      host: 'mira-db.abc.eu-west-1.rds.amazonaws.com',
    }),
  });
});

afterEach(() => {
  resetConfig();
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

    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('leaves the Gemini key unset while the secret holds the placeholder', async () => {
    secretsManager.on(GetSecretValueCommand, { SecretId: APP_ARN }).resolves({
      SecretString: JSON.stringify({ GEMINI_API_KEY: 'REPLACE_ME', JWT_SECRET: 'jwt-secret' }),
    });
    const env = awsEnvironment();

    await loadSecretsIntoEnvironment(env);

    expect(env.GEMINI_API_KEY).toBeUndefined();
    expect(env.JWT_SECRET).toBe('jwt-secret');
  });

  it('fails init with a named error when a secret cannot be read', async () => {
    secretsManager.on(GetSecretValueCommand, { SecretId: DB_ARN }).rejects(new Error('AccessDenied'));

    await expect(loadSecretsIntoEnvironment(awsEnvironment())).rejects.toThrow(SecretsLoadError);
  });

  it('does nothing locally, where no secret ARN is set', async () => {
    const env: NodeJS.ProcessEnv = { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres' };

    await loadSecretsIntoEnvironment(env);

    expect(env).toEqual({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres' });
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });
});

describe('the rotated database password', () => {
  it('is re-read for new connections once the cached one is older than its maximum age', async () => {
    const now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now);
    try {
      await loadSecretsIntoEnvironment(awsEnvironment());
      const password = databasePasswordProvider()!;
      expect(await password()).toBe('p@ss/word:1');

      // Act: the secret is rotated, and time passes beyond the cache's maximum age.
      secretsManager.on(GetSecretValueCommand, { SecretId: DB_ARN }).resolves({
        SecretString: JSON.stringify({ username: 'mira', password: 'rotated', dbname: 'mira' }),
      });
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
