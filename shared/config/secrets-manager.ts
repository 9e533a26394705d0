import aws4 from 'aws4';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * Secrets Manager's GetSecretValue, signed with SigV4 by `aws4` and sent with Node's own HTTP client.
 *
 * Why not the AWS SDK (through Powertools Parameters, as first built): loading and running the SDK's
 * client, credential chain and protocol layers costs about 85 ms of every cold start, more than half of
 * the 150 ms budget of an HTTP Lambda, to make two calls per instance lifetime. Lambda puts its role's
 * credentials in the environment, so the whole client is one signed POST; `aws4` (the long-standing SigV4
 * signer) does the cryptography, and a test checks its signature against the AWS SDK's own signer.
 *
 * Endpoint: `AWS_ENDPOINT_URL_SECRETS_MANAGER` or `AWS_ENDPOINT_URL` when set (the SDK honours the same
 * variables; tests point them at a loopback fake), else the regional endpoint, which the VPC's interface
 * endpoint answers through private DNS.
 */
export interface AwsEnvironment extends Record<string, string | undefined> {
  AWS_REGION?: string;
  AWS_DEFAULT_REGION?: string;
  AWS_ACCESS_KEY_ID?: string;
  AWS_SECRET_ACCESS_KEY?: string;
  AWS_SESSION_TOKEN?: string;
  AWS_ENDPOINT_URL?: string;
  AWS_ENDPOINT_URL_SECRETS_MANAGER?: string;
}

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
  if (configured) return new URL(configured);
  const domain = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return new URL(`https://secretsmanager.${region}.${domain}/`);
}

interface RawResponse {
  statusCode: number;
  body: string;
}

function send(url: URL, headers: Record<string, string | number>, body: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'http:' ? httpRequest : httpsRequest)(
      {
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port || undefined,
        path: url.pathname || '/',
        method: 'POST',
        headers,
        timeout: SECRETS_MANAGER_TIMEOUT_MS,
      },
      (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () =>
          resolve({ statusCode: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    request.on('timeout', () => request.destroy(new Error('Secrets Manager did not answer in time')));
    request.on('error', reject);
    request.end(body);
  });
}

interface Target {
  region: string;
  url: URL;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

function targetOf(env: AwsEnvironment): Target {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new Error('AWS_REGION is not set');
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
  if (!accessKeyId || !secretAccessKey) throw new Error('No AWS credentials in the environment');
  return {
    region,
    url: endpointOf(env, region),
    credentials: { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN },
  };
}

async function getSecretValueOnce(secretId: string, { region, url, credentials }: Target): Promise<string> {
  const body = JSON.stringify({ SecretId: secretId });
  const signed = aws4.sign(
    {
      service: 'secretsmanager',
      region,
      method: 'POST',
      path: url.pathname || '/',
      body,
      headers: {
        Host: url.host,
        'Content-Type': 'application/x-amz-json-1.1',
        'X-Amz-Target': 'secretsmanager.GetSecretValue',
      },
    },
    credentials,
  );
  const response = await send(url, signed.headers as Record<string, string | number>, body);
  let parsed: { SecretString?: unknown; __type?: unknown; message?: unknown; Message?: unknown } = {};
  try {
    parsed = JSON.parse(response.body || '{}');
  } catch {
    // A proxy's HTML error page, say: reported below by status code.
  }
  if (response.statusCode !== 200) {
    const code = String(parsed.__type ?? `HTTP ${response.statusCode}`)
      .split('#')
      .pop()!;
    throw new SecretsManagerError(
      code,
      String(parsed.message ?? parsed.Message ?? 'no message'),
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
  const target = targetOf(env);
  for (let attempt = 1; ; attempt++) {
    try {
      return await getSecretValueOnce(secretId, target);
    } catch (error) {
      if (attempt >= SECRETS_MANAGER_MAX_ATTEMPTS || !isRetryable(error)) throw error;
      // Full-jitter backoff, as the SDK's standard retry mode: 0-100 ms, then 0-200 ms.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 100 * 2 ** (attempt - 1)));
    }
  }
}
