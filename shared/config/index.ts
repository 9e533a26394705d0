/**
 * Configuration, read once from the environment. In AWS the environment is filled from Secrets Manager by
 * `loadSecretsIntoEnvironment` (see ./secrets.ts) before the first request; locally it is the shell's.
 */
export interface AppConfig {
  databaseUrl: string | undefined;
  /** Folder of the embedded PGlite database used when `DATABASE_URL` is unset. */
  dataDir: string;
  port: number;
  geminiApiKey: string | undefined;
  geminiBaseUrl: string | undefined;
  geminiModel: string;
  jwtSecret: string | undefined;
  logLevel: string;
  appVersion: string;
  corsOrigins: string[];
  /** Anonymous access to network-scoped routes by network id alone (old clients). */
  legacyNetworkAuth: boolean;
  /** Maximum size of a request body in bytes (API Gateway's synchronous Lambda payload caps it near 4.5 MB raw). */
  maxBodyBytes: number;
  /** TLS to PostgreSQL: `require` verifies against the system or `DATABASE_CA_FILE` CA bundle. */
  databaseSsl: 'disable' | 'require' | 'no-verify';
  databaseCaFile: string | undefined;
}

const parseBool = (value: string | undefined, fallback: boolean): boolean =>
  value === undefined || value === '' ? fallback : ['1', 'true', 'yes', 'on'].includes(value.toLowerCase());

const parseSsl = (value: string | undefined, url: string | undefined): AppConfig['databaseSsl'] => {
  if (value === 'require' || value === 'no-verify' || value === 'disable') return value;
  const mode = url ? new URL(url).searchParams.get('sslmode') : null;
  if (mode === 'require' || mode === 'verify-full' || mode === 'verify-ca') return 'require';
  if (mode === 'no-verify') return 'no-verify';
  return 'disable';
};

export function readConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const databaseUrl = env.DATABASE_URL || undefined;
  return {
    databaseUrl,
    dataDir: env.MIRA_DATA_DIR || '.mira/pgdata',
    port: Number(env.PORT || 8000),
    geminiApiKey: env.GEMINI_API_KEY || undefined,
    geminiBaseUrl: env.GEMINI_BASE_URL || undefined,
    geminiModel: env.GEMINI_MODEL || 'gemini-2.5-flash',
    jwtSecret: env.JWT_SECRET || undefined,
    logLevel: env.LOG_LEVEL || 'INFO',
    appVersion: env.APP_VERSION || '1.0.0',
    corsOrigins: (env.CORS_ORIGINS || '*')
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
    legacyNetworkAuth: parseBool(env.LEGACY_NETWORK_AUTH, false),
    maxBodyBytes: Number(env.MAX_BODY_BYTES || 6 * 1024 * 1024),
    databaseSsl: parseSsl(env.DATABASE_SSL, databaseUrl),
    databaseCaFile: env.DATABASE_CA_FILE || undefined,
  };
}

let cached: AppConfig | undefined;

/** The process-wide configuration; computed on first use. */
export function config(): AppConfig {
  cached ??= readConfig();
  return cached;
}

/** Forget the cached configuration (tests that change the environment, secrets loaded late). */
export function resetConfig(): void {
  cached = undefined;
}

/** Returns the database password for a new connection. */
export type PasswordProvider = () => Promise<string>;

let passwordProvider: PasswordProvider | undefined;

/**
 * In AWS the database password is rotated: the secrets loader registers a provider here that reads the
 * current password (cached briefly) for every new connection, so connections opened after a rotation use
 * the new password instead of the one a warm instance started with.
 */
export function setDatabasePasswordProvider(provider: PasswordProvider | undefined): void {
  passwordProvider = provider;
}

export const databasePasswordProvider = (): PasswordProvider | undefined => passwordProvider;
