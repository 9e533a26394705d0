/**
 * `POST P/uploads`: recordings too large for the API's synchronous payload (Lambda's 6 MB, about 4.5 MB of
 * audio once API Gateway has base64-encoded it) go straight to storage, then are registered by id:
 *
 *   POST P/uploads {client_id, content_type, size} -> {upload_id, url, method, headers, expires_at}
 *   PUT <url> (the bytes, exactly `size` of them)   -> S3 in AWS; the local server's PUT URL locally
 *   POST P/interactions/register {upload_id}        -> 202 {utterance_id, status}: accept, settle, process
 *
 * In AWS the URL is a presigned S3 PUT (shared/storage/presign.ts): S3 checks the signature, the expiry and
 * the signed Content-Length. Locally it is `/local-uploads/{upload_id}?token=...` on the server that
 * answered, whose secret only the row's hash can check (`receiveLocalUpload`).
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Db } from '../../shared/db/client';
import {
  findAudioUploadById,
  insertAudioUpload,
  markAudioUploadReceived,
} from '../../shared/db/repositories/uploads';
import { httpError } from '../../shared/errors';
import { config } from '../../shared/config';
import { audioStorage, type UploadUrl } from '../../shared/storage';
import { admitClient } from './register';

/** Where the local server takes an upload's PUT (local/server.ts). */
export const LOCAL_UPLOAD_PATH = /^\/local-uploads\/([0-9a-f-]{36})$/;

export interface UploadRequest {
  networkId: string;
  clientId: string;
  contentType: string;
  sizeBytes: number;
  capturedAt?: Date;
  /** `http://host:port` of the local server that was asked (its PUT URL); unused in AWS. */
  localOrigin: string;
}

export interface UploadAnswer {
  upload_id: string;
  url: string;
  method: 'PUT';
  headers: Record<string, string>;
  expires_at: string;
  max_bytes: number;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export async function createUpload(db: Db, request: UploadRequest): Promise<UploadAnswer> {
  const { uploadMaxBytes, uploadUrlSeconds, audioBucket } = config().pipeline;
  await admitClient(db, request.networkId, request.clientId);
  if (request.sizeBytes > uploadMaxBytes)
    throw httpError(
      'AUDIO_TOO_LARGE',
      `The recording is ${request.sizeBytes} bytes; the largest upload is ${uploadMaxBytes} bytes`,
    );
  const id = randomUUID();
  // The same key scheme as accepted audio: the upload's object is the utterance's audio once registered.
  const audioKey = `${request.networkId}/${id}`;
  const upload = { contentType: request.contentType, sizeBytes: request.sizeBytes };
  let target: UploadUrl;
  let tokenHash: string | null = null;
  if (audioBucket) {
    const { presignS3Put } = await import('../../shared/storage/presign');
    target = await presignS3Put(audioBucket, audioKey, { ...upload, expiresInSeconds: uploadUrlSeconds });
  } else {
    const token = randomBytes(32).toString('base64url');
    tokenHash = sha256(token);
    target = {
      url: `${request.localOrigin}/local-uploads/${id}?token=${token}`,
      method: 'PUT',
      headers: { 'Content-Type': upload.contentType, 'Content-Length': String(upload.sizeBytes) },
      expiresAt: new Date(Date.now() + uploadUrlSeconds * 1000),
    };
  }
  await insertAudioUpload(db, {
    id,
    networkId: request.networkId,
    clientId: request.clientId,
    audioKey,
    contentType: upload.contentType,
    sizeBytes: upload.sizeBytes,
    capturedAt: request.capturedAt ?? null,
    tokenHash,
    expiresAt: target.expiresAt,
  });
  return {
    upload_id: id,
    url: target.url,
    method: target.method,
    headers: target.headers,
    expires_at: target.expiresAt.toISOString(),
    max_bytes: uploadMaxBytes,
  };
}

/**
 * The local server's PUT of an upload: what S3 checks in AWS (the URL's secret, its expiry, the exact
 * size), then the bytes go through shared/storage under the upload's key.
 */
export async function receiveLocalUpload(
  db: Db,
  uploadId: string,
  token: string | undefined,
  bytes: Buffer,
): Promise<void> {
  const upload = await findAudioUploadById(db, uploadId);
  const expected = upload?.token_hash ? Buffer.from(upload.token_hash, 'hex') : undefined;
  const presented = Buffer.from(sha256(token ?? ''), 'hex');
  if (!upload || !expected || !timingSafeEqual(expected, presented)) throw httpError('UPLOAD_URL_INVALID');
  if (upload.expires_at.getTime() < Date.now())
    throw httpError('UPLOAD_EXPIRED', `This upload URL expired at ${upload.expires_at.toISOString()}`);
  if (bytes.length > upload.size_bytes)
    throw httpError(
      'AUDIO_TOO_LARGE',
      `The body is ${bytes.length} bytes; this upload is ${upload.size_bytes}`,
    );
  if (bytes.length !== upload.size_bytes)
    throw httpError(
      'UPLOAD_SIZE_MISMATCH',
      `The body is ${bytes.length} bytes; this upload was asked for ${upload.size_bytes}`,
    );
  await audioStorage().put(upload.audio_key, bytes);
  await markAudioUploadReceived(db, upload.id);
}
