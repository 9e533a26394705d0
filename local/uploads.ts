import type { IncomingMessage, ServerResponse } from 'node:http';
import { LOCAL_UPLOAD_PATH, receiveLocalUpload } from '../functions/interactions/uploads';
import { config } from '../shared/config';
import { getDb } from '../shared/db/client';
import { errorBody, HttpError } from '../shared/errors';

/**
 * The local stand-in for S3's presigned PUT (`POST P/uploads` without `AUDIO_BUCKET`): the local server
 * takes `PUT /local-uploads/{upload_id}?token=...` itself, outside the API's body limit
 * (`MAX_BODY_BYTES`), and writes the bytes through shared/storage. Answers as S3 does on success (200, no
 * body), and in the API's error shape otherwise. Undefined when the request is not an upload.
 */
export function localUpload(req: IncomingMessage, res: ServerResponse): Promise<void> | undefined {
  const target = new URL(req.url ?? '/', 'http://local');
  const match = LOCAL_UPLOAD_PATH.exec(target.pathname);
  if (!match) return undefined;
  const fail = (error: HttpError) => {
    if (res.headersSent) return void res.destroy();
    res.writeHead(error.status, { 'Content-Type': 'application/json', Connection: 'close' });
    res.end(JSON.stringify(errorBody(error.code, error.message)));
  };
  if (req.method !== 'PUT') {
    fail(new HttpError('METHOD_NOT_ALLOWED', 'An upload URL takes PUT'));
    return Promise.resolve();
  }
  const limit = config().pipeline.uploadMaxBytes;
  return new Promise<void>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the largest upload the rest is read and dropped; the answer is 413.
      if (size <= limit) chunks.push(chunk);
    });
    req.on('error', () => {
      res.destroy();
      resolve();
    });
    req.on('end', () => {
      const body = size <= limit ? Buffer.concat(chunks) : undefined;
      (async () => {
        if (!body)
          throw new HttpError('AUDIO_TOO_LARGE', `The body is over the largest upload, ${limit} bytes`);
        await receiveLocalUpload(
          await getDb(),
          match[1],
          target.searchParams.get('token') ?? undefined,
          body,
        );
        res.writeHead(200, { 'Content-Length': '0' });
        res.end();
      })()
        .catch((error: unknown) =>
          fail(error instanceof HttpError ? error : new HttpError('INTERNAL_ERROR', 'Internal server error')),
        )
        .finally(resolve);
    });
  });
}
