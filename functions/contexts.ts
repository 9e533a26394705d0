import type { ApiHandler } from '../shared/http/pipeline';
import type { RouteDefinition } from '../shared/http/route';
import { authRoutes } from './auth/routes';
import { healthRoutes } from './health/routes';
import { actionRoutes } from './actions/routes';
import { conversationRoutes } from './conversations/routes';
import { interactionRoutes } from './interactions/routes';
import { memoryRoutes } from './memories/routes';
import { voiceRoutes } from './voice/routes';
import { personRoutes } from './persons/routes';
import { serviceRoutes } from './service/routes';
import { streamRoutes } from './streams/routes';

/**
 * The registry of Mira's functions: one folder under functions/, one bundle and one container image each.
 * Everything that differs per function is written here once and read by the CDK app (lib/: routes,
 * sizing, realtime grants), the bundle build (scripts/build-bundles.ts: which bundles ship onnxruntime-node
 * and the models) and the local server (shared/http/local-dispatch.ts: the same route tables and handlers).
 *
 * Importing this module is cheap on purpose: route tables and plain facts only. Handlers are loaded lazily
 * (`loadHandler`), since the audio contexts' handlers load ONNX models on first use and the CDK app must
 * never evaluate them. `health` also answers every path no other context owns (it is the HTTP API's
 * default route), so unknown paths get Mira's 404.
 */

/**
 * How much memory and time a function needs, by kind of work; lib/config/stages.ts gives each class its
 * memory and timeout per stage (Lambda's CPU share grows with memory, which ONNX inference needs).
 */
export type SizeClass = 'standard' | 'audio' | 'pipeline' | 'migration';

export interface FunctionEntry {
  /** The folder under functions/ (with a handler.ts), the bundle's and the image's name. */
  name: string;
  /** Decodes audio and runs the ONNX models: only these bundles ship onnxruntime-node and models/. */
  audio: boolean;
  size: SizeClass;
}

export interface BoundedContext extends FunctionEntry {
  routes: RouteDefinition[];
  /** Loads the context's Lambda handler module (lazily: the audio contexts load ONNX models). */
  loadHandler: () => Promise<ApiHandler>;
  /** Pushes events to the realtime sockets (shared/realtime): in AWS it may post to their connections. */
  publishesRealtime?: boolean;
  /** Streams its answers: in AWS it is served by a Function URL with response streaming, not the HTTP API. */
  streaming?: boolean;
}

export const contexts: BoundedContext[] = [
  {
    name: 'health',
    audio: false,
    size: 'standard',
    routes: healthRoutes,
    loadHandler: async () => (await import('./health/handler')).handler,
  },
  {
    name: 'service',
    audio: false,
    size: 'standard',
    publishesRealtime: true,
    routes: serviceRoutes,
    loadHandler: async () => (await import('./service/handler')).handler,
  },
  {
    name: 'persons',
    audio: true,
    size: 'audio',
    routes: personRoutes,
    loadHandler: async () => (await import('./persons/handler')).handler,
  },
  {
    name: 'conversations',
    audio: false,
    size: 'standard',
    routes: conversationRoutes,
    loadHandler: async () => (await import('./conversations/handler')).handler,
  },
  {
    name: 'interactions',
    // Decoding, VAD, speaker embedding, a Gemini call and the arbitration in one request.
    audio: true,
    size: 'pipeline',
    publishesRealtime: true,
    routes: interactionRoutes,
    loadHandler: async () => (await import('./interactions/handler')).handler,
  },
  {
    name: 'actions',
    audio: false,
    size: 'standard',
    publishesRealtime: true,
    routes: actionRoutes,
    loadHandler: async () => (await import('./actions/handler')).handler,
  },
  {
    name: 'memories',
    audio: false,
    size: 'standard',
    publishesRealtime: true,
    routes: memoryRoutes,
    loadHandler: async () => (await import('./memories/handler')).handler,
  },
  {
    // The streamed voice command: decodes audio and runs the speaker model, then streams the reply.
    name: 'voice',
    audio: true,
    size: 'pipeline',
    publishesRealtime: true,
    streaming: true,
    routes: voiceRoutes,
    loadHandler: async () => (await import('./voice/handler')).handler,
  },
  {
    name: 'streams',
    audio: true,
    size: 'audio',
    routes: streamRoutes,
    loadHandler: async () => (await import('./streams/handler')).handler,
  },
  {
    name: 'auth',
    audio: false,
    size: 'standard',
    routes: authRoutes,
    loadHandler: async () => (await import('./auth/handler')).handler,
  },
];

/** The context that serves unknown routes. */
export const defaultContextName = 'health';

/** The function that runs migrations at deploy time (`{"action":"run_migrations"}`); not an HTTP context. */
export const MIGRATE_FUNCTION = 'migrate';
/** The function behind the realtime WebSocket API ($connect, $disconnect, messages); not an HTTP context. */
export const REALTIME_FUNCTION = 'realtime';

/** The register worker: consumes the utterance queue (SQS) and runs the pipeline after accepting. */
export const WORKER_FUNCTION = 'worker';

/** The functions that are not contexts of the HTTP API. */
export const nonHttpFunctions: FunctionEntry[] = [
  { name: MIGRATE_FUNCTION, audio: false, size: 'migration' },
  { name: REALTIME_FUNCTION, audio: false, size: 'standard' },
  // Decoding, the speaker model, the one Gemini call per utterance and the command.
  { name: WORKER_FUNCTION, audio: true, size: 'pipeline' },
];

/** Every function: one bundle and one image each. */
export const allFunctions: FunctionEntry[] = [...contexts, ...nonHttpFunctions];

/** Names of the functions that are not HTTP contexts. */
export const NON_HTTP_FUNCTIONS: readonly string[] = nonHttpFunctions.map((f) => f.name);

/** Names of the functions that process audio. */
export const AUDIO_FUNCTIONS: ReadonlySet<string> = new Set(
  allFunctions.filter((f) => f.audio).map((f) => f.name),
);

/** One function's entry; an unknown name is an error. */
export function functionEntry(name: string): FunctionEntry {
  const found = allFunctions.find((f) => f.name === name);
  if (!found) throw new Error(`${name} is not a function of functions/contexts.ts`);
  return found;
}
