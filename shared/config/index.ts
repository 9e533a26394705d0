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
  /** Bound on one Gemini HTTP attempt, in ms (API Gateway gives the whole request 30 s). */
  geminiTimeoutMs: number;
  /** Attempts per Gemini call, the first included; retried on 408, 429 and 5xx with exponential backoff. */
  geminiMaxAttempts: number;
  /** First backoff delay between attempts, in ms (doubles each retry, capped at 4 s). */
  geminiRetryDelayMs: number;
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
  /** A pooled connection idle this long is checked with `SELECT 1` on checkout (a frozen Lambda's may be dead). */
  databaseStaleAfterMs: number;
  /**
   * `DATABASE_POOL_SIZE`: connections a long-running server (`npm start` on PostgreSQL) keeps, so concurrent
   * requests do not queue behind each other. A Lambda instance always uses one.
   */
  databasePoolSize: number;
  /** `STAGE=prod` or `NODE_ENV=production`: no generated JWT secret, no legacy network access. */
  production: boolean;
  /**
   * API Gateway's management endpoint of the realtime WebSocket API
   * (`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`), to which events are posted in AWS.
   * Unset locally, where the local server holds the sockets itself.
   */
  realtimeCallbackUrl: string | undefined;
  /** This Lambda's own name (set by the Lambda runtime); the realtime function invokes itself with it. */
  lambdaFunctionName: string | undefined;
  /** Lifetime of a realtime `session_token` (at most the socket's: API Gateway closes it after 2 hours). */
  realtimeSessionSeconds: number;
  /** Tests: every answer is checked against what its route documents (`VALIDATE_RESPONSES=true`). */
  validateResponses: boolean;
  /** Powertools service name and metrics namespace. */
  serviceName: string;
  metricsNamespace: string;
  audio: AudioConfig;
  auth: AuthConfig;
  memory: MemoryConfig;
  pipeline: PipelineConfig;
}

/** Conversation summaries, memories, embeddings and the voice command's optional tools. */
export interface MemoryConfig {
  /** `MEMORY_SUMMARIZE_ON_END`: summarise a conversation as soon as an utterance ends it (else the sweep does). */
  summarizeOnEnd: boolean;
  /** `ROLLING_SUMMARY_EVERY`: an open conversation is summarised again after this many new utterances. */
  rollingSummaryEvery: number;
  /** `CONVERSATION_QUIET_SECONDS`: a conversation this long without an utterance is ended by the sweep. */
  quietSeconds: number;
  /** `MEMORY_SWEEP_SECONDS`: the local server's sweep interval (0: no timer); AWS runs it on a schedule. */
  sweepIntervalSeconds: number;
  /** `GEMINI_EMBEDDING_MODEL` */
  embeddingModel: string;
  /** `WEB_SEARCH_ENABLED`: the voice command's web_search tool uses Gemini's Google Search grounding. */
  webSearch: boolean;
}

/** Register v2: where accepted audio is kept, the job queue, and the settle window (shared/storage, shared/queue). */
export interface PipelineConfig {
  /** `AUDIO_BUCKET`: the S3 bucket of accepted audio (AWS); unset, a folder is used. */
  audioBucket: string | undefined;
  /** `MIRA_STORAGE_DIR`: the local folder of accepted audio (default: `audio` next to MIRA_DATA_DIR's folder). */
  storageDir: string;
  /** `UTTERANCE_QUEUE_URL`: the SQS queue the worker Lambda consumes (AWS); unset, the PostgreSQL queue. */
  queueUrl: string | undefined;
  /** `QUEUE_MAX_ATTEMPTS`: deliveries of a job before it is given up (SQS: the redrive policy's maxReceiveCount). */
  maxAttempts: number;
  /** `QUEUE_RETRY_BASE_MS`: the local queue's first backoff after a failure (doubles per attempt). */
  retryBaseMs: number;
  /** `QUEUE_VISIBILITY_TIMEOUT_MS`: how long a taken job stays invisible (longer than any job runs). */
  visibilityMs: number;
  /** `WORKER_CONCURRENCY`: jobs the in-process worker runs at once. */
  workerConcurrency: number;
  /** `ARBITRATION_SETTLE_MS`: how long copies of one utterance compete (a network setting overrides it). */
  settleMs: number;
  /** `REGISTER_SYNC_WAIT_MS`: how long a synchronous register waits for its outcome before answering 202. */
  syncWaitMs: number;
  /** `UPLOAD_MAX_BYTES`: the largest recording `POST P/uploads` hands out a URL for. */
  uploadMaxBytes: number;
  /** `UPLOAD_URL_SECONDS`: how long an upload URL is valid. */
  uploadUrlSeconds: number;
}

/** Where the audio models are and how they run. */
export interface AudioConfig {
  /** `SILERO_VAD_MODEL_PATH`: an explicit VAD model file. */
  vadModelPath: string | undefined;
  /** `SPEAKER_MODEL_PATH`: another speaker model (e.g. WeSpeaker); its threshold is `speakerMatchThreshold`. */
  speakerModelPath: string | undefined;
  /** `AUDIO_MODELS_DIR`: a folder holding the model files (the image's). */
  modelsDir: string | undefined;
  /** `SPEAKER_MATCH_THRESHOLD`: cosine above which a voice matches, for a model other than the default. */
  speakerMatchThreshold: number | undefined;
  /** `AUDIO_ORT_THREADS`: intra-op threads per ONNX session (a Lambda has one or two vCPUs). */
  ortThreads: number;
}

/** An OAuth provider's endpoints and client; endpoints are configurable so tests run fake providers. */
export interface OAuthProviderConfig {
  clientId: string | undefined;
  clientSecret: string | undefined;
  authorizeUrl: string;
  tokenUrl: string;
  /** Google: the OpenID userinfo endpoint; GitHub: the REST API base. */
  apiUrl: string;
}

export interface AuthConfig {
  accessTokenSeconds: number;
  refreshTokenSeconds: number;
  /** A used refresh token presented again within this many seconds gets the same new pair (parallel refreshes). */
  refreshReuseGraceSeconds: number;
  /** Failed logins allowed per account, and per IP, within `loginWindowSeconds`. */
  loginMaxFailuresPerAccount: number;
  loginMaxFailuresPerIp: number;
  loginWindowSeconds: number;
  /** Registrations allowed per IP within `registrationWindowSeconds`. */
  registrationsPerIp: number;
  registrationWindowSeconds: number;
  /** Where the desktop app listens for the OAuth redirect; `{port}` is its `redirect_port`. */
  oauthRedirectUri: string;
  /**
   * `OAUTH_WEB_ORIGINS`: the web app origins a browser sign-in may return to (`spa_origin`); anything else
   * is refused, so the sign-in can never be turned into an open redirect. Empty: browser sign-in is off.
   */
  oauthWebOrigins: string[];
  /**
   * `OAUTH_WEB_CALLBACK_URL`: this API's own Google callback, registered with Google, when the API sits
   * behind a domain or proxy that the request does not reveal; unset, it is built from the request.
   */
  oauthWebCallbackUrl: string | undefined;
  google: OAuthProviderConfig;
  github: OAuthProviderConfig;
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

/** A setting that cannot be used; its message is the one line the local server prints before it exits. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** A whole number from the environment within [min, max]; `fallback` when unset or empty. */
const integer = (env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0, max = 2 ** 31 - 1) => {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max)
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, not "${env[name]}"`);
  return value;
};

const databaseUrlOf = (env: NodeJS.ProcessEnv): string | undefined => {
  const url = env.DATABASE_URL || undefined;
  if (url === undefined) return undefined;
  const protocol = URL.canParse(url) ? new URL(url).protocol : undefined;
  if (protocol !== 'postgres:' && protocol !== 'postgresql:')
    throw new ConfigError('DATABASE_URL must be a postgres://user@host:port/database URL');
  return url;
};

export function readConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const databaseUrl = databaseUrlOf(env);
  const production = env.STAGE === 'prod' || env.STAGE === 'production' || env.NODE_ENV === 'production';
  return {
    databaseUrl,
    dataDir: env.MIRA_DATA_DIR || '.mira/pgdata',
    port: integer(env, 'PORT', 8000, 0, 65535),
    geminiApiKey: env.GEMINI_API_KEY || undefined,
    geminiBaseUrl: env.GEMINI_BASE_URL || undefined,
    geminiModel: env.GEMINI_MODEL || 'gemini-3.8-flash',
    geminiTimeoutMs: integer(env, 'GEMINI_TIMEOUT_MS', 10_000, 1),
    geminiMaxAttempts: integer(env, 'GEMINI_MAX_ATTEMPTS', 3, 1, 100),
    geminiRetryDelayMs: integer(env, 'GEMINI_RETRY_DELAY_MS', 500),
    jwtSecret: env.JWT_SECRET || undefined,
    logLevel: env.LOG_LEVEL || 'INFO',
    // Both desktop generations refuse a server whose major differs from theirs: the default serves 4.x.
    appVersion: env.APP_VERSION || '4.0.0',
    corsOrigins: (env.CORS_ORIGINS || '*')
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
    // Never in production, whatever the environment says: anyone knowing a network id could read it.
    legacyNetworkAuth: !production && parseBool(env.LEGACY_NETWORK_AUTH, false),
    maxBodyBytes: integer(env, 'MAX_BODY_BYTES', 6 * 1024 * 1024, 1),
    databaseSsl: parseSsl(env.DATABASE_SSL, databaseUrl),
    databaseCaFile: env.DATABASE_CA_FILE || undefined,
    databaseStaleAfterMs: integer(env, 'DATABASE_STALE_AFTER_MS', 5_000),
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 1000),
    production,
    realtimeCallbackUrl: env.REALTIME_CALLBACK_URL || undefined,
    lambdaFunctionName: env.AWS_LAMBDA_FUNCTION_NAME || undefined,
    realtimeSessionSeconds: integer(env, 'REALTIME_SESSION_SECONDS', 7200, 1),
    validateResponses: parseBool(env.VALIDATE_RESPONSES, false),
    serviceName: env.POWERTOOLS_SERVICE_NAME || 'mira',
    metricsNamespace: env.POWERTOOLS_METRICS_NAMESPACE || 'Mira',
    pipeline: {
      audioBucket: env.AUDIO_BUCKET || undefined,
      storageDir:
        env.MIRA_STORAGE_DIR || `${(env.MIRA_DATA_DIR || '.mira/pgdata').replace(/\/+$/, '')}-audio`,
      queueUrl: env.UTTERANCE_QUEUE_URL || undefined,
      maxAttempts: integer(env, 'QUEUE_MAX_ATTEMPTS', 3, 1, 100),
      retryBaseMs: integer(env, 'QUEUE_RETRY_BASE_MS', 1_000),
      visibilityMs: integer(env, 'QUEUE_VISIBILITY_TIMEOUT_MS', 120_000, 1),
      workerConcurrency: integer(env, 'WORKER_CONCURRENCY', 4, 1, 64),
      settleMs: integer(env, 'ARBITRATION_SETTLE_MS', 400, 0, 10_000),
      syncWaitMs: integer(env, 'REGISTER_SYNC_WAIT_MS', 25_000, 1),
      uploadMaxBytes: integer(env, 'UPLOAD_MAX_BYTES', 25 * 1024 * 1024, 1, 1024 * 1024 * 1024),
      // Short: the URL is a credential. Presigned S3 URLs allow up to 7 days; an upload starts at once.
      uploadUrlSeconds: integer(env, 'UPLOAD_URL_SECONDS', 300, 1, 3600),
    },
    audio: {
      vadModelPath: env.SILERO_VAD_MODEL_PATH || undefined,
      speakerModelPath: env.SPEAKER_MODEL_PATH || undefined,
      modelsDir: env.AUDIO_MODELS_DIR || undefined,
      speakerMatchThreshold:
        env.SPEAKER_MATCH_THRESHOLD && Number.isFinite(Number(env.SPEAKER_MATCH_THRESHOLD))
          ? Number(env.SPEAKER_MATCH_THRESHOLD)
          : undefined,
      ortThreads:
        Number.isInteger(Number(env.AUDIO_ORT_THREADS)) && Number(env.AUDIO_ORT_THREADS) > 0
          ? Number(env.AUDIO_ORT_THREADS)
          : 1,
    },
    memory: {
      summarizeOnEnd: parseBool(env.MEMORY_SUMMARIZE_ON_END, true),
      rollingSummaryEvery: integer(env, 'ROLLING_SUMMARY_EVERY', 20, 1),
      quietSeconds: integer(env, 'CONVERSATION_QUIET_SECONDS', 300, 1),
      sweepIntervalSeconds: integer(env, 'MEMORY_SWEEP_SECONDS', 60),
      embeddingModel: env.GEMINI_EMBEDDING_MODEL || 'gemini-embedding-001',
      webSearch: parseBool(env.WEB_SEARCH_ENABLED, false),
    },
    auth: {
      accessTokenSeconds: 30 * 60,
      refreshTokenSeconds: 7 * 24 * 60 * 60,
      refreshReuseGraceSeconds: integer(env, 'REFRESH_REUSE_GRACE_SECONDS', 5),
      loginMaxFailuresPerAccount: integer(env, 'LOGIN_MAX_FAILURES_PER_ACCOUNT', 5, 1),
      loginMaxFailuresPerIp: integer(env, 'LOGIN_MAX_FAILURES_PER_IP', 20, 1),
      loginWindowSeconds: integer(env, 'LOGIN_WINDOW_SECONDS', 15 * 60, 1),
      registrationsPerIp: integer(env, 'REGISTRATIONS_PER_IP', 20, 1),
      registrationWindowSeconds: integer(env, 'REGISTRATION_WINDOW_SECONDS', 60 * 60, 1),
      oauthRedirectUri: env.OAUTH_REDIRECT_URI || 'http://localhost:{port}/callback',
      oauthWebOrigins: (env.OAUTH_WEB_ORIGINS || '')
        .split(',')
        .map((origin) => origin.trim().replace(/\/+$/, ''))
        .filter(Boolean),
      oauthWebCallbackUrl: env.OAUTH_WEB_CALLBACK_URL || undefined,
      google: {
        clientId: env.GOOGLE_CLIENT_ID || undefined,
        clientSecret: env.GOOGLE_CLIENT_SECRET || undefined,
        authorizeUrl: env.GOOGLE_AUTH_URL || 'https://accounts.google.com/o/oauth2/v2/auth',
        tokenUrl: env.GOOGLE_TOKEN_URL || 'https://oauth2.googleapis.com/token',
        apiUrl: env.GOOGLE_USERINFO_URL || 'https://openidconnect.googleapis.com/v1/userinfo',
      },
      github: {
        clientId: env.GITHUB_CLIENT_ID || undefined,
        clientSecret: env.GITHUB_CLIENT_SECRET || undefined,
        authorizeUrl: env.GITHUB_AUTHORIZE_URL || 'https://github.com/login/oauth/authorize',
        tokenUrl: env.GITHUB_TOKEN_URL || 'https://github.com/login/oauth/access_token',
        apiUrl: env.GITHUB_API_URL || 'https://api.github.com',
      },
    },
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

/**
 * The AWS runtime environment (region and the function role's credentials, which Lambda sets for the
 * sandbox's lifetime), for the two AWS APIs Mira signs requests to.
 */
export const awsEnvironment = (): NodeJS.ProcessEnv => process.env;
