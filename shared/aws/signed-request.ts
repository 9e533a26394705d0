import aws4 from 'aws4';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * One SigV4-signed HTTPS call to an AWS API: `aws4` (the long-standing SigV4 signer) signs, Node's own
 * client sends. Mira calls exactly two AWS operations at run time, Secrets Manager's GetSecretValue and
 * API Gateway's PostToConnection. The AWS SDK clients for them cost about 85 ms of every cold start
 * (their modules, credential chain and protocol layers), more than half of an HTTP Lambda's 150 ms budget,
 * and Lambda already puts the role's credentials in the environment. A test checks the signatures against
 * the AWS SDK's own signer.
 */
export interface AwsEnvironment extends Record<string, string | undefined> {
  AWS_REGION?: string;
  AWS_DEFAULT_REGION?: string;
  AWS_ACCESS_KEY_ID?: string;
  AWS_SECRET_ACCESS_KEY?: string;
  AWS_SESSION_TOKEN?: string;
}

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface AwsTarget {
  region: string;
  credentials: AwsCredentials;
}

/** Region and credentials from the environment (as Lambda sets them); throws when either is missing. */
export function awsTargetFromEnvironment(env: AwsEnvironment): AwsTarget {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new Error('AWS_REGION is not set');
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
  if (!accessKeyId || !secretAccessKey) throw new Error('No AWS credentials in the environment');
  return { region, credentials: { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN } };
}

/** `https://<service>.<region>.amazonaws.com/` (or `.com.cn` in China regions). */
export function regionalEndpoint(service: string, region: string): URL {
  const domain = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return new URL(`https://${service}.${region}.${domain}/`);
}

export interface SignedRequest {
  /** The signing name: `secretsmanager`, `execute-api`. */
  service: string;
  url: URL;
  method?: string;
  headers?: Record<string, string>;
  /** Bytes for S3 objects; text for the JSON APIs. */
  body: string | Buffer;
  timeoutMs: number;
}

export interface SignedResponse {
  statusCode: number;
  body: string;
  /** The raw answer (an S3 object's bytes). */
  bytes?: Buffer;
}

export function sendSigned(target: AwsTarget, request: SignedRequest): Promise<SignedResponse> {
  const { url, body } = request;
  const path = `${url.pathname || '/'}${url.search}`;
  const signed = aws4.sign(
    {
      service: request.service,
      region: target.region,
      method: request.method ?? 'POST',
      path,
      body,
      headers: { Host: url.host, ...request.headers },
    },
    target.credentials,
  );
  return new Promise((resolve, reject) => {
    const outgoing = (url.protocol === 'http:' ? httpRequest : httpsRequest)(
      {
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port || undefined,
        path,
        method: signed.method,
        headers: signed.headers as Record<string, string | number>,
        timeout: request.timeoutMs,
      },
      (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const bytes = Buffer.concat(chunks);
          resolve({ statusCode: response.statusCode ?? 0, body: bytes.toString('utf8'), bytes });
        });
      },
    );
    outgoing.on('timeout', () =>
      outgoing.destroy(new Error(`${request.service} did not answer within ${request.timeoutMs} ms`)),
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
