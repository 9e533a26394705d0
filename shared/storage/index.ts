import { mkdir, readFile, rm, writeFile, rename } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { awsTargetFromEnvironment, sendSigned } from '../aws/signed-request';
import { awsEnvironment, config } from '../config';

/**
 * Where accepted audio waits for the worker: an S3 bucket in AWS (private, encrypted, expired by a
 * lifecycle rule), a folder locally. One port so the register pipeline is the same code in both.
 * Keys are `<network id>/<utterance id>`: made by the server, never by a client.
 */
export interface AudioStorage {
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** The object's bytes; undefined when it is gone (deleted after processing, or expired). */
  get(key: string): Promise<Buffer | undefined>;
  delete(key: string): Promise<void>;
}

const SAFE_KEY = /^[A-Za-z0-9-]+(\/[A-Za-z0-9.-]+)*$/;

/** Where and how a client puts an upload's bytes (`POST P/uploads`): the request it must send, until when. */
export interface UploadUrl {
  url: string;
  method: 'PUT';
  /** Headers the PUT must carry as given (`Content-Length` is the upload's exact size). */
  headers: Record<string, string>;
  expiresAt: Date;
}

export function checkKey(key: string): void {
  if (!SAFE_KEY.test(key) || key.includes('..')) throw new Error(`Unsafe storage key: ${key}`);
}

/** A folder: each object is a file, written to a temporary name and renamed so a crash leaves no torn file. */
export function folderStorage(root: string): AudioStorage {
  const base = resolve(root);
  const pathOf = (key: string) => {
    checkKey(key);
    const path = join(base, ...key.split('/'));
    if (!path.startsWith(base + sep)) throw new Error(`Unsafe storage key: ${key}`);
    return path;
  };
  return {
    put: async (key, bytes) => {
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true });
      const temporary = `${path}.${process.pid}.tmp`;
      await writeFile(temporary, bytes);
      await rename(temporary, path);
    },
    get: async (key) => {
      try {
        return await readFile(pathOf(key));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    delete: async (key) => {
      await rm(pathOf(key), { force: true });
    },
  };
}

const S3_TIMEOUT_MS = 5_000;

/**
 * S3 through one signed request per operation (shared/aws/signed-request.ts says why not the SDK): PUT, GET
 * and DELETE of one object in a virtual-hosted-style bucket URL. `endpoint` for tests and S3-compatible stores.
 */
export function s3Storage(
  bucket: string,
  env = awsEnvironment(),
  endpoint = env.AWS_S3_ENDPOINT_URL,
): AudioStorage {
  const target = () => awsTargetFromEnvironment(env);
  const urlOf = (key: string) => {
    checkKey(key);
    const region = target().region;
    const base = endpoint
      ? new URL(`${endpoint.replace(/\/+$/, '')}/${bucket}/`)
      : new URL(`https://${bucket}.s3.${region}.amazonaws.com/`);
    return new URL(key, base);
  };
  const call = async (method: string, key: string, body: Buffer | string = '') => {
    const response = await sendSigned(target(), {
      service: 's3',
      method,
      url: urlOf(key),
      body,
      headers: method === 'PUT' ? { 'Content-Type': 'application/octet-stream' } : {},
      timeoutMs: S3_TIMEOUT_MS,
    });
    return response;
  };
  return {
    put: async (key, bytes) => {
      const response = await call('PUT', key, Buffer.from(bytes));
      if (response.statusCode !== 200) throw new Error(`S3 PutObject answered ${response.statusCode}`);
    },
    get: async (key) => {
      const response = await call('GET', key);
      if (response.statusCode === 404) return undefined;
      if (response.statusCode !== 200) throw new Error(`S3 GetObject answered ${response.statusCode}`);
      return response.bytes ?? Buffer.from(response.body);
    },
    delete: async (key) => {
      const response = await call('DELETE', key);
      if (response.statusCode !== 204 && response.statusCode !== 200)
        throw new Error(`S3 DeleteObject answered ${response.statusCode}`);
    },
  };
}

let current: AudioStorage | undefined;

/** The configured storage: the bucket when `AUDIO_BUCKET` is set, else the local folder. */
export function audioStorage(): AudioStorage {
  if (current) return current;
  const { audioBucket, storageDir } = config().pipeline;
  return (current = audioBucket ? s3Storage(audioBucket) : folderStorage(storageDir));
}
