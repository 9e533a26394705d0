import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { presignS3Put } from '../../shared/storage/presign';

const env = {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'example-secret',
  AWS_SESSION_TOKEN: 'session-token',
};

const hmac = (key: Buffer | string, text: string) => createHmac('sha256', key).update(text).digest();
const hex = (text: string) => createHash('sha256').update(text).digest('hex');
const rfc3986 = (text: string) =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** SigV4's query signature as S3 checks it, written out from the spec (not by the SDK that made the URL). */
function expectedSignature(url: URL, headers: Record<string, string>): string {
  const query = [...url.searchParams.entries()]
    .filter(([name]) => name !== 'X-Amz-Signature')
    .map(([name, value]) => `${rfc3986(name)}=${rfc3986(value)}`)
    .sort()
    .join('&');
  const signed = url.searchParams.get('X-Amz-SignedHeaders')!.split(';');
  const canonical = [
    'PUT',
    url.pathname,
    query,
    ...signed.map((name) => `${name}:${headers[name]}`),
    '',
    signed.join(';'),
    'UNSIGNED-PAYLOAD',
  ].join('\n');
  const date = url.searchParams.get('X-Amz-Date')!;
  const scope = `${date.slice(0, 8)}/eu-west-1/s3/aws4_request`;
  const key = ['eu-west-1', 's3', 'aws4_request'].reduce(
    (k, part) => hmac(k, part),
    hmac(`AWS4${env.AWS_SECRET_ACCESS_KEY}`, date.slice(0, 8)),
  );
  return hmac(key, ['AWS4-HMAC-SHA256', date, scope, hex(canonical)].join('\n')).toString('hex');
}

describe('presigned upload URLs (POST P/uploads in AWS)', () => {
  it('signs a PUT of the one key, with its exact length, for a short time', async () => {
    const upload = await presignS3Put(
      'mira-audio',
      'net-1/upload-1',
      { contentType: 'audio/wav', sizeBytes: 9_600_044, expiresInSeconds: 300 },
      env,
    );
    const url = new URL(upload.url);

    expect(url.host).toBe('mira-audio.s3.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe('/net-1/upload-1');
    expect(upload.method).toBe('PUT');
    expect(upload.headers).toEqual({ 'Content-Type': 'audio/wav', 'Content-Length': '9600044' });
    expect(url.searchParams.get('X-Amz-Expires')).toBe('300');
    // A body of another length does not match the signature: S3 answers 403.
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;host');
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe('session-token');
    expect(url.searchParams.get('X-Amz-Signature')).toBe(
      expectedSignature(url, { 'content-length': '9600044', host: url.host }),
    );
    expect(upload.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(300_000);
    expect(upload.expiresAt.getTime() - Date.now()).toBeGreaterThan(290_000);
  });

  it('refuses a key the server would not make', async () => {
    await expect(
      presignS3Put('b', '../other', { contentType: 'audio/wav', sizeBytes: 1, expiresInSeconds: 60 }, env),
    ).rejects.toThrow(/Unsafe storage key/);
  });
});
