import * as z from 'zod';
import type { UploadedFile } from './route';

const isUploadedFile = (value: unknown): value is UploadedFile =>
  typeof value === 'object' && value !== null && Buffer.isBuffer((value as UploadedFile).content);

/**
 * A file part of a multipart body, as the pipeline parses it. A plain text field of the same name is
 * refused with a 422 that says a file is wanted; the API reference shows it as binary.
 */
export const uploadedFile = (description: string) =>
  z
    .custom<UploadedFile>(isUploadedFile, { message: 'must be a file part of a multipart/form-data body' })
    .meta({ type: 'string', format: 'binary', description });
