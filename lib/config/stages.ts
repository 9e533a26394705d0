import type { SizeClass } from '../../functions/contexts';

/**
 * Per-stage settings, read once in `bin/mira.ts` from `-c stage=dev|prod` and passed down as a typed
 * value; nothing below `bin/` reads CDK context or the environment.
 */
export type StageName = 'dev' | 'prod';

export interface FunctionSizing {
  /** MB; Lambda's CPU share grows with memory, which the audio contexts need for ONNX inference. */
  memorySize: number;
  /** Seconds; API Gateway stops waiting after 30 s, so HTTP functions stay below it. */
  timeoutSeconds: number;
}

export interface StageConfig {
  stage: StageName;
  /** Prefix of every stack name, e.g. `Mira-dev`. */
  prefix: string;
  vpc: { maxAzs: number; natGateways: number };
  database: {
    instanceClass: 'burstable3' | 'memory6-graviton';
    instanceSize: 'micro' | 'small' | 'medium' | 'large';
    allocatedStorageGb: number;
    maxAllocatedStorageGb: number;
    multiAz: boolean;
    deletionProtection: boolean;
    backupRetentionDays: number;
    /** Days between automatic rotations of the database password. */
    rotationDays: number;
  };
  api: {
    corsOrigins: string[];
    /** Web app origins a browser Google sign-in may return to (`OAUTH_WEB_ORIGINS`). */
    oauthWebOrigins: string[];
    throttlingRateLimit: number;
    throttlingBurstLimit: number;
  };
  /**
   * Memory and timeout by size class; functions/contexts.ts says which class each function is:
   * `standard` (HTTP and realtime), `audio` (decode, VAD, speaker embeddings), `pipeline` (audio plus a
   * Gemini call and the arbitration in one request), `migration` (the deploy-time migrate function).
   */
  functions: Record<SizeClass, FunctionSizing>;
  logRetentionDays: 7 | 30 | 90 | 365;
  alarms: {
    /** Percent of invocations that failed, over 5 minutes. */
    functionErrorRatePercent: number;
    api5xxPerFiveMinutes: number;
    p95LatencyMs: number;
    /** Share of the proxy's maximum connections. */
    databaseConnections: number;
    /**
     * Who the alarm topic notifies: email addresses (each confirms once, from the mail SNS sends) and
     * HTTPS endpoints (an incident tool's SNS integration URL). A prod stage without any fails synth;
     * `-c alarmEmails=a@example.com,b@example.com` replaces the emails for one synth or deploy.
     */
    subscriptions: { emails: string[]; httpsUrls: string[] };
  };
  /** LEGACY_NETWORK_AUTH for old clients; always off in prod (API.md's security note). */
  legacyNetworkAuth: boolean;
  logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

const dev: StageConfig = {
  stage: 'dev',
  prefix: 'Mira-dev',
  vpc: { maxAzs: 2, natGateways: 1 },
  database: {
    instanceClass: 'burstable3',
    instanceSize: 'micro',
    allocatedStorageGb: 20,
    maxAllocatedStorageGb: 50,
    multiAz: false,
    deletionProtection: false,
    backupRetentionDays: 3,
    rotationDays: 30,
  },
  api: {
    corsOrigins: ['*'],
    oauthWebOrigins: ['http://localhost:5173'],
    throttlingRateLimit: 50,
    throttlingBurstLimit: 100,
  },
  functions: {
    standard: { memorySize: 512, timeoutSeconds: 15 },
    audio: { memorySize: 1536, timeoutSeconds: 29 },
    pipeline: { memorySize: 2048, timeoutSeconds: 29 },
    migration: { memorySize: 512, timeoutSeconds: 300 },
  },
  logRetentionDays: 7,
  alarms: {
    functionErrorRatePercent: 5,
    api5xxPerFiveMinutes: 10,
    p95LatencyMs: 3000,
    databaseConnections: 80,
    // Dev may run without anyone paged; subscribe yourself with -c alarmEmails=... (README, Deploy).
    subscriptions: { emails: [], httpsUrls: [] },
  },
  legacyNetworkAuth: false,
  logLevel: 'DEBUG',
};

const prod: StageConfig = {
  stage: 'prod',
  prefix: 'Mira-prod',
  // One NAT per AZ so Gemini egress survives the loss of an AZ.
  vpc: { maxAzs: 2, natGateways: 2 },
  database: {
    instanceClass: 'memory6-graviton',
    instanceSize: 'large',
    allocatedStorageGb: 100,
    maxAllocatedStorageGb: 500,
    multiAz: true,
    deletionProtection: true,
    backupRetentionDays: 14,
    rotationDays: 30,
  },
  api: {
    corsOrigins: ['https://app.mira.example', 'http://localhost:4280'],
    oauthWebOrigins: ['https://app.mira.example'],
    throttlingRateLimit: 500,
    throttlingBurstLimit: 1000,
  },
  functions: {
    standard: { memorySize: 1024, timeoutSeconds: 15 },
    audio: { memorySize: 2048, timeoutSeconds: 29 },
    pipeline: { memorySize: 3008, timeoutSeconds: 29 },
    migration: { memorySize: 512, timeoutSeconds: 300 },
  },
  logRetentionDays: 90,
  alarms: {
    functionErrorRatePercent: 1,
    api5xxPerFiveMinutes: 5,
    p95LatencyMs: 2000,
    databaseConnections: 80,
    // The on-call list: replace with your team's addresses (or an incident tool's HTTPS endpoint).
    subscriptions: { emails: ['oncall@mira.example'], httpsUrls: [] },
  },
  legacyNetworkAuth: false,
  logLevel: 'INFO',
};

export const stages: Record<StageName, StageConfig> = { dev, prod };

/** Settings given on the command line (`bin/mira.ts` reads them from CDK context). */
export interface StageOverrides {
  /** Comma-separated emails that replace the stage's alarm emails (`-c alarmEmails=...`). */
  alarmEmails?: string;
}

/** The stage named on the command line; an unknown name is an error rather than a silent default. */
export function stageConfig(name: string | undefined, overrides: StageOverrides = {}): StageConfig {
  const stage = (name ?? 'dev') as StageName;
  const found = stages[stage];
  if (!found) throw new Error(`Unknown stage "${name}"; use -c stage=dev or -c stage=prod`);
  if (overrides.alarmEmails === undefined) return found;
  const emails = overrides.alarmEmails
    .split(',')
    .map((email) => email.trim())
    .filter(Boolean);
  return {
    ...found,
    alarms: { ...found.alarms, subscriptions: { ...found.alarms.subscriptions, emails } },
  };
}

/** Memory and timeout of a function of the given size class (functions/contexts.ts) in this stage. */
export function sizingFor(cfg: StageConfig, size: SizeClass): FunctionSizing {
  return cfg.functions[size];
}
