import Busboy, { type BusboyFileStream } from '@fastify/busboy';
import { httpError } from '../errors';
import type { UploadedFile } from './route';

export interface MultipartLimits {
  /** Largest file part, in bytes. */
  fileBytes: number;
  files: number;
  fields: number;
  /** Largest text field, in bytes. */
  fieldBytes: number;
}

export type MultipartForm = Record<string, string | UploadedFile>;

const FIELD_NAME_BYTES = 100;

/**
 * Parses a whole `multipart/form-data` body with busboy (the parser `@middy/http-multipart-body-parser`
 * wraps). Called directly rather than through that middleware because the middleware leaves busboy's file
 * streams without an `error` listener: a body cut short inside a file part ("Unexpected end of form") emits
 * `error` on the file stream, which then throws out of the event loop and ends the process (busboy's own
 * docs ask every consumer to listen on both). Here every stream has a listener, and every way a body can be
 * wrong is one promise rejection: 400 MALFORMED_MULTIPART, 413 for a part over its limit, 415 for a
 * Content-Type without a boundary. The first part of a repeated name wins.
 */
export function parseMultipart(
  body: Buffer,
  contentType: string,
  limits: MultipartLimits,
): Promise<MultipartForm> {
  return new Promise((resolve, reject) => {
    let parser: ReturnType<typeof Busboy>;
    try {
      parser = Busboy({
        headers: { 'content-type': contentType },
        limits: {
          fileSize: limits.fileBytes,
          files: limits.files,
          fields: limits.fields,
          fieldSize: limits.fieldBytes,
          fieldNameSize: FIELD_NAME_BYTES,
          parts: limits.files + limits.fields,
        },
      });
    } catch (error) {
      reject(
        httpError('UNSUPPORTED_MEDIA_TYPE', 'Malformed multipart Content-Type (boundary missing?)', {
          cause: error,
        }),
      );
      return;
    }
    const form: MultipartForm = {};
    const pending: Promise<void>[] = [];
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    const malformed = (cause: unknown) =>
      fail(
        httpError('MALFORMED_MULTIPART', 'The multipart/form-data body is malformed or cut short', { cause }),
      );
    const tooMany = (what: string) =>
      fail(
        httpError(
          'PAYLOAD_TOO_LARGE',
          `The form has too many ${what}; at most ${limits.files} files and ${limits.fields} fields`,
        ),
      );

    parser.on(
      'file',
      (name: string, stream: BusboyFileStream, filename: string, _encoding: string, mimetype: string) => {
        const chunks: Buffer[] = [];
        pending.push(
          new Promise<void>((done) => {
            stream.on('data', (chunk: Buffer) => chunks.push(chunk));
            stream.on('limit', () =>
              fail(httpError('PAYLOAD_TOO_LARGE', `File ${name} exceeds ${limits.fileBytes} bytes`)),
            );
            stream.on('error', (error: unknown) => {
              malformed(error);
              done();
            });
            stream.on('end', () => {
              if (!(name in form))
                form[name] = {
                  filename,
                  mimetype,
                  content: Buffer.concat(chunks),
                  truncated: stream.truncated,
                };
              done();
            });
          }),
        );
      },
    );
    parser.on('field', (name: string, value: string, _nameTruncated: boolean, valueTruncated: boolean) => {
      if (valueTruncated)
        fail(httpError('PAYLOAD_TOO_LARGE', `Field ${name} exceeds ${limits.fieldBytes} bytes`));
      else if (!(name in form)) form[name] = value;
    });
    parser.on('filesLimit', () => tooMany('files'));
    parser.on('fieldsLimit', () => tooMany('fields'));
    parser.on('partsLimit', () => tooMany('parts'));
    parser.on('error', malformed);
    parser.on('finish', () => {
      void Promise.all(pending).then(() => {
        if (settled) return;
        settled = true;
        resolve(form);
      });
    });
    try {
      parser.end(body);
    } catch (error) {
      malformed(error);
    }
  });
}
