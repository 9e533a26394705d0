import { type AwsEnvironment, getSecretString } from './secrets-manager';
import { resetConfig, setDatabasePasswordProvider } from './index';

/**
 * In AWS the configuration's secrets live in Secrets Manager; the CDK app passes their ARNs in the
 * environment. They are read once per Lambda instance, during init (the bundle's entry awaits this before
 * it loads the handler), and cached for maxAge so a second call in the same instance costs nothing.
 * Locally none of the ARNs is set and the shell's environment is used. The client is a signed request of
 * our own (./secrets-manager.ts explains why not the AWS SDK), so the cache is ours too: a map of
 * promises, which also makes concurrent first reads share one request.
 *
 * - `APP_SECRET_ARN`: JSON with the keys of APP_SECRET_KEYS (`GEMINI_API_KEY`, `JWT_SECRET`, Google and GitHub
 *   sign-in); a key that is missing, empty or still `REPLACE_ME` is left unset.
 * - `DB_SECRET_ARN`: the RDS secret, JSON `{username, password, dbname, port, host}`; DATABASE_URL is built
 *   from it and `DB_NAME`, pointed at `DB_PROXY_ENDPOINT` (the RDS Proxy) with TLS verified against the shipped RDS CA
 *   bundle (`DATABASE_CA_FILE`, default `$LAMBDA_TASK_ROOT/rds-ca-bundle.pem`). The password is rotated,
 *   so every new connection asks for the current one (see setDatabasePasswordProvider).
 */
export interface SecretsEnvironment {
  APP_SECRET_ARN?: string;
  DB_SECRET_ARN?: string;
  DB_PROXY_ENDPOINT?: string;
  /** The database to use; RDS's generated secret names none (its attachment adds host and port only). */
  DB_NAME?: string;
  DATABASE_CA_FILE?: string;
  LAMBDA_TASK_ROOT?: string;
}

export class SecretsLoadError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SecretsLoadError';
  }
}

/** The keys of the app secret copied into the environment (README, Deploy: "Set secrets"). */
export const APP_SECRET_KEYS = [
  'GEMINI_API_KEY',
  'JWT_SECRET',
  'GOOGLE_CLIENT_ID',
  'GOOGLE_CLIENT_SECRET',
  'GITHUB_CLIENT_ID',
  'GITHUB_CLIENT_SECRET',
  'OAUTH_REDIRECT_URI',
] as const;

/** Seconds a secret stays cached in the instance. */
export const SECRETS_MAX_AGE_SECONDS = 900;

/**
 * Seconds the database password stays cached for new connections. After a rotation, new connections fail
 * for at most this long; open ones are unaffected (PostgreSQL checks the password only when connecting).
 */
export const DATABASE_PASSWORD_MAX_AGE_SECONDS = 120;

interface CachedSecret {
  value: Promise<Record<string, unknown>>;
  expiresAt: number;
}
const cache = new Map<string, CachedSecret>();

async function fetchJsonSecret(
  arn: string,
  what: string,
  env: AwsEnvironment,
): Promise<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(await getSecretString(arn, env));
  } catch (error) {
    throw new SecretsLoadError(`Cannot read the ${what} secret`, { cause: error });
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new SecretsLoadError(`The ${what} secret is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function readJsonSecret(
  arn: string,
  what: string,
  env: AwsEnvironment,
  maxAge = SECRETS_MAX_AGE_SECONDS,
): Promise<Record<string, unknown>> {
  const now = Date.now();
  const cached = cache.get(arn);
  if (cached && cached.expiresAt > now) return cached.value;
  const value = fetchJsonSecret(arn, what, env);
  cache.set(arn, { value, expiresAt: now + maxAge * 1000 });
  // A failed read is not cached: the next caller asks again.
  value.catch(() => {
    if (cache.get(arn)?.value === value) cache.delete(arn);
  });
  return value;
}

/** `postgres://user:password@proxy:port/dbname` from the RDS secret; user and password URL-encoded. */
export function databaseUrlFromSecret(
  secret: Record<string, unknown>,
  host: string,
  database?: string,
): string {
  const { username, password } = secret;
  if (typeof username !== 'string' || typeof password !== 'string') {
    throw new SecretsLoadError('The database secret has no username or password');
  }
  const url = new URL('postgres://placeholder');
  url.username = encodeURIComponent(username);
  url.password = encodeURIComponent(password);
  url.hostname = host;
  url.port = String(typeof secret.port === 'number' || typeof secret.port === 'string' ? secret.port : 5432);
  url.pathname = `/${database ?? (typeof secret.dbname === 'string' ? secret.dbname : 'postgres')}`;
  return url.toString();
}

/**
 * Fill `process.env` from Secrets Manager (a no-op when no ARN is set) and forget the cached
 * configuration, so the next `config()` sees the secrets.
 */
export async function loadSecretsIntoEnvironment(
  env: NodeJS.ProcessEnv & SecretsEnvironment = process.env,
): Promise<void> {
  const [app, db] = await Promise.all([
    env.APP_SECRET_ARN ? readJsonSecret(env.APP_SECRET_ARN, 'application', env) : undefined,
    env.DB_SECRET_ARN
      ? readJsonSecret(env.DB_SECRET_ARN, 'database', env, DATABASE_PASSWORD_MAX_AGE_SECONDS)
      : undefined,
  ]);
  if (app) {
    for (const name of APP_SECRET_KEYS) {
      const value = app[name];
      // The Gemini key is a placeholder until an operator sets it; an empty value means "not configured".
      if (typeof value === 'string' && value !== '' && !value.startsWith('REPLACE_ME')) env[name] = value;
    }
  }
  if (db) {
    const host = env.DB_PROXY_ENDPOINT ?? (typeof db.host === 'string' ? db.host : undefined);
    if (!host) throw new SecretsLoadError('Neither DB_PROXY_ENDPOINT nor the secret names a database host');
    env.DATABASE_URL = databaseUrlFromSecret(db, host, env.DB_NAME);
    env.DATABASE_SSL = 'require';
    env.DATABASE_CA_FILE ??= `${env.LAMBDA_TASK_ROOT ?? '/var/task'}/rds-ca-bundle.pem`;
    const arn = env.DB_SECRET_ARN!;
    setDatabasePasswordProvider(async () => {
      const current = await readJsonSecret(arn, 'database', env, DATABASE_PASSWORD_MAX_AGE_SECONDS);
      if (typeof current.password !== 'string')
        throw new SecretsLoadError('The database secret has no password');
      return current.password;
    });
  }
  resetConfig();
}

/** Tests: forget the cached secrets. */
export function resetSecretsProvider(): void {
  cache.clear();
  setDatabasePasswordProvider(undefined);
}
