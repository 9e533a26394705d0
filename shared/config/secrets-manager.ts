import {
  type AwsEnvironment,
  type AwsTarget,
  awsTargetFromEnvironment,
  regionalEndpoint,
  sendSigned,
} from '../aws/signed-request';

/**
 * Secrets Manager's GetSecretValue as one signed request (../aws/signed-request.ts says why not the AWS
 * SDK, which the first version used through Powertools Parameters).
 *
 * Endpoint: `AWS_ENDPOINT_URL_SECRETS_MANAGER` or `AWS_ENDPOINT_URL` when set (the SDK honours the same
 * variables; tests point them at a loopback fake), else the regional endpoint, which the VPC's interface
 * endpoint answers through private DNS.
 */
export type { AwsEnvironment } from '../aws/signed-request';

/** An error answered by Secrets Manager (`__type` names it, e.g. ResourceNotFoundException). */
export class SecretsManagerError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode?: number,
  ) {
    super(`${code}: ${message}`);
    this.name = 'SecretsManagerError';
  }
}

/** Attempts per call: network errors, throttling and 5xx are retried, as the SDK's standard mode does. */
export const SECRETS_MANAGER_MAX_ATTEMPTS = 3;
/** Per attempt; Lambda's init phase is limited to 10 s. */
export const SECRETS_MANAGER_TIMEOUT_MS = 3000;

const RETRYABLE_CODES = new Set(['ThrottlingException', 'InternalServiceError', 'RequestTimeout']);

function endpointOf(env: AwsEnvironment, region: string): URL {
  const configured = env.AWS_ENDPOINT_URL_SECRETS_MANAGER ?? env.AWS_ENDPOINT_URL;
  return configured ? new URL(configured) : regionalEndpoint('secretsmanager', region);
}

async function getSecretValueOnce(secretId: string, target: AwsTarget, url: URL): Promise<string> {
  const response = await sendSigned(target, {
    service: 'secretsmanager',
    url,
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': 'secretsmanager.GetSecretValue',
    },
    body: JSON.stringify({ SecretId: secretId }),
    timeoutMs: SECRETS_MANAGER_TIMEOUT_MS,
  });
  let parsed: { SecretString?: unknown; __type?: unknown; message?: unknown; Message?: unknown } = {};
  try {
    parsed = JSON.parse(response.body || '{}') as typeof parsed;
  } catch {
    // A proxy's HTML error page, say: reported below by status code.
  }
  if (response.statusCode !== 200) {
    const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
    const code = (text(parsed.__type) ?? `HTTP ${response.statusCode}`).split('#').pop()!;
    throw new SecretsManagerError(
      code,
      text(parsed.message) ?? text(parsed.Message) ?? 'no message',
      response.statusCode,
    );
  }
  if (typeof parsed.SecretString !== 'string') {
    throw new SecretsManagerError('InvalidResponse', `${secretId} has no SecretString (binary secret?)`);
  }
  return parsed.SecretString;
}

const isRetryable = (error: unknown): boolean =>
  !(error instanceof SecretsManagerError) ||
  RETRYABLE_CODES.has(error.code) ||
  (error.statusCode !== undefined && error.statusCode >= 500);

/** The current SecretString of `secretId` (AWSCURRENT). */
export async function getSecretString(secretId: string, env: AwsEnvironment = process.env): Promise<string> {
  const target = awsTargetFromEnvironment(env);
  const url = endpointOf(env, target.region);
  for (let attempt = 1; ; attempt++) {
    try {
      return await getSecretValueOnce(secretId, target, url);
    } catch (error) {
      if (attempt >= SECRETS_MANAGER_MAX_ATTEMPTS || !isRetryable(error)) throw error;
      // Full-jitter backoff, as the SDK's standard retry mode: 0-100 ms, then 0-200 ms.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 100 * 2 ** (attempt - 1)));
    }
  }
}
