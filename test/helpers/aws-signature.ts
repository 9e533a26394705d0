import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

/** A request as a loopback fake of an AWS API received it. */
export interface ReceivedRequest {
  method?: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** The credentials the fakes hand out (see startFakeSecretsManager). */
export const FAKE_CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'example',
  sessionToken: 'session-token',
};

/**
 * The Authorization header the AWS SDK's own SigV4 signer computes for a received request, over the same
 * signed headers and at the same instant (its X-Amz-Date). Equal to the received header means our signing
 * is the SDK's, which is what AWS verifies.
 */
export async function sdkAuthorization(
  received: ReceivedRequest,
  service: string,
  signedHeaders: string[],
  region = 'eu-west-1',
): Promise<string> {
  const signer = new SignatureV4({
    service,
    region,
    credentials: FAKE_CREDENTIALS,
    sha256: Hash.bind(null, 'sha256'),
    // Neither API needs the payload hash header; aws4 signs content-length instead.
    applyChecksum: false,
  });
  const amzDate = received.headers['x-amz-date'];
  const signingDate = new Date(
    amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'),
  );
  const signed = await signer.sign(
    {
      method: received.method ?? 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      path: received.path,
      headers: Object.fromEntries(signedHeaders.map((name) => [name, received.headers[name]])),
      body: received.body,
    },
    { signingDate },
  );
  return signed.headers.authorization;
}
