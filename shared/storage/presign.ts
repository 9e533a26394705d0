import { S3RequestPresigner } from '@aws-sdk/s3-request-presigner';
import { HttpRequest } from '@smithy/core/protocols';
import { Hash } from '@smithy/core/serde';
import { awsTargetFromEnvironment, type AwsEnvironment } from '../aws/signed-request';
import { awsEnvironment } from '../config';
import { checkKey, type UploadUrl } from './index';

/**
 * A presigned S3 PUT of one object (`POST P/uploads` in AWS), by the AWS SDK's own presigner. Loaded only by
 * that route (a dynamic import), so the accept path's cold start does not pay for it.
 *
 * `Content-Length` is a signed header: S3 refuses a body of any other length (403), which is what bounds
 * the upload's size; the SDK leaves `Content-Type` unsigned, so the type is checked when the upload is
 * registered (by decoding it), not here.
 */
export async function presignS3Put(
  bucket: string,
  key: string,
  upload: { contentType: string; sizeBytes: number; expiresInSeconds: number },
  env: AwsEnvironment = awsEnvironment(),
  endpoint = env.AWS_S3_ENDPOINT_URL,
): Promise<UploadUrl> {
  checkKey(key);
  const { region, credentials } = awsTargetFromEnvironment(env);
  // The URL form of shared/storage's s3Storage: virtual-hosted style, or path style on an endpoint override.
  const url = endpoint
    ? new URL(`${endpoint.replace(/\/+$/, '')}/${bucket}/${key}`)
    : new URL(`https://${bucket}.s3.${region}.amazonaws.com/${key}`);
  const headers = {
    'content-type': upload.contentType,
    'content-length': String(upload.sizeBytes),
  };
  const presigner = new S3RequestPresigner({ region, credentials, sha256: Hash.bind(null, 'sha256') });
  const signedAt = new Date();
  const signed = await presigner.presign(
    new HttpRequest({
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      method: 'PUT',
      path: url.pathname,
      headers: { ...headers, host: url.host },
    }),
    { expiresIn: upload.expiresInSeconds, signingDate: signedAt },
  );
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(signed.query ?? {}))
    for (const one of Array.isArray(value) ? value : [value]) if (one !== null) query.append(name, one);
  return {
    url: `${url.origin}${url.pathname}?${query.toString()}`,
    method: 'PUT',
    headers: { 'Content-Type': upload.contentType, 'Content-Length': String(upload.sizeBytes) },
    expiresAt: new Date(signedAt.getTime() + upload.expiresInSeconds * 1000),
  };
}
