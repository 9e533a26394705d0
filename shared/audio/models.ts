/**
 * Where the model files are and the one InferenceSession per model and process.
 *
 * Lookup order for each model (the first existing file wins):
 *  1. an environment variable: `SILERO_VAD_MODEL_PATH`, `SPEAKER_MODEL_PATH`;
 *  2. `<AUDIO_MODELS_DIR>/<file>` when that variable is set;
 *  3. `models/<file>` next to this module: in the repository that is shared/audio/models/ (where the default
 *     speaker model is committed); in a Lambda bundle it is `models/` next to the bundled handler, where the
 *     bundler copies `modelFiles()`;
 *  4. the npm package that ships Silero VAD v5 (`@ricky0123/vad-web/dist/silero_vad_v5.onnx`), resolved
 *     through node_modules, which is how tests and the local server find it.
 * Nothing is ever downloaded.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InferenceSession } from 'onnxruntime-node';
import { config } from '../config';

export const VAD_MODEL_FILE = 'silero_vad_v5.onnx';
export const DEFAULT_SPEAKER_MODEL_FILE = 'mira-speaker-tdnn-v1.onnx';

/** This module's folder (in a bundle: the bundle's); undefined where import.meta.url is not a file URL. */
function here(): string | undefined {
  try {
    return dirname(fileURLToPath(import.meta.url));
  } catch {
    return undefined;
  }
}

function fromPackage(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('@ricky0123/vad-web/package.json');
    return join(dirname(pkg), 'dist', VAD_MODEL_FILE);
  } catch {
    return undefined;
  }
}

function locate(
  envName: string,
  fromEnv: string | undefined,
  file: string,
  fallback?: () => string | undefined,
): string {
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`${envName} points to ${fromEnv}, which does not exist`);
    return fromEnv;
  }
  const dirs = [config().audio.modelsDir, here() && join(here()!, 'models')];
  const candidates = [...dirs.map((d) => d && join(d, file)), fallback?.()].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`Model ${file} not found (looked in ${candidates.join(', ')}); set ${envName}`);
  return found;
}

/** Path of the Silero VAD v5 model. */
export const vadModelPath = () =>
  locate('SILERO_VAD_MODEL_PATH', config().audio.vadModelPath, VAD_MODEL_FILE, fromPackage);

/** Path of the speaker-embedding model: SPEAKER_MODEL_PATH, else the committed default. */
export const speakerModelPath = () =>
  locate('SPEAKER_MODEL_PATH', config().audio.speakerModelPath, DEFAULT_SPEAKER_MODEL_FILE);

/**
 * The files a bundle must ship, copied into `models/` next to the bundled handler. The Lambda bundler calls
 * this at build time (after installing dev dependencies, which hold the VAD package).
 */
export function modelFiles(): { vad: string; speaker: string } {
  return { vad: vadModelPath(), speaker: speakerModelPath() };
}

type Ort = typeof import('onnxruntime-node');
let ortPromise: Promise<Ort> | undefined;
const sessions = new Map<string, Promise<InferenceSession>>();

/** onnxruntime-node is loaded on first use: routes that never touch audio do not pay for its native addon. */
export function loadOrt(): Promise<Ort> {
  ortPromise ??= import('onnxruntime-node').then((m) => (m as { default?: Ort }).default ?? m);
  return ortPromise;
}

/** Intra-op threads per session: AUDIO_ORT_THREADS, default 1 (a Lambda has one or two vCPUs). */
export const ortThreads = (): number => config().audio.ortThreads;

/** The session for a model file, created once per process and shared by every caller. */
export function getSession(path: string): Promise<InferenceSession> {
  let session = sessions.get(path);
  if (!session) {
    session = loadOrt().then((ort) =>
      ort.InferenceSession.create(path, {
        intraOpNumThreads: ortThreads(),
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      }),
    );
    // A failed load is not cached, so a fixed configuration works without a restart.
    session.catch(() => sessions.delete(path));
    sessions.set(path, session);
  }
  return session;
}
