/**
 * Build constants shared by the CDK app (lib/constructs/context-function.ts), the bundle build
 * (scripts/build-bundles.ts) and functions/Dockerfile (which copies this file into its build stage).
 * Plain values and Node built-ins only: the image's build stage imports it before anything else exists.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository: the images' build context and the bundle build's root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The Dockerfile of every function image, relative to ROOT; its build argument names the function. */
export const DOCKERFILE = 'functions/Dockerfile';

/** The Dockerfile's build arguments for one function's image. */
export const imageBuildArgs = (functionName: string): Record<string, string> => ({ CONTEXT: functionName });

/** esbuild's target: the Node of the Lambda base image (public.ecr.aws/lambda/nodejs:24). */
export const NODE_TARGET = 'node24';

/** Where Lambda puts the image's function folder (LAMBDA_TASK_ROOT). */
export const LAMBDA_TASK_ROOT = '/var/task';

/** Name of the CA bundle written beside the handler; DATABASE_CA_FILE points at it in AWS. */
export const CA_BUNDLE_FILE = 'rds-ca-bundle.pem';

/** Folder of the audio contexts' model files, beside the handler (shared/audio/models.ts looks there). */
export const MODELS_DIR = 'models';

/**
 * V8 code cache for index.mjs, made at build time by importing the bundle once. Node 24 reads it when
 * NODE_COMPILE_CACHE points here (the Dockerfile sets that, with NODE_COMPILE_CACHE_PORTABLE=1 so the
 * folder may move from /asset to /var/task); parsing the ~1 MB bundle is a large share of cold init.
 * Lambda's task folder is read-only, which Node tolerates: the cache is an optimisation, never an error.
 */
export const COMPILE_CACHE_DIR = '.node-compile-cache';

/** Environment under which a bundle in `dir` runs as it does in the image (the Dockerfile's ENV). */
export const runtimeEnvironment = (dir: string): Record<string, string> => ({
  NODE_COMPILE_CACHE: join(dir, COMPILE_CACHE_DIR),
  NODE_COMPILE_CACHE_PORTABLE: '1',
});
