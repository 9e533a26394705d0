import type { ApiHandler } from '../shared/http/pipeline';
import type { RouteDefinition } from '../shared/http/route';
import { authRoutes } from './auth/routes';
import { healthRoutes } from './health/routes';
import { actionRoutes } from './actions/routes';
import { conversationRoutes } from './conversations/routes';
import { interactionRoutes } from './interactions/routes';
import { personRoutes } from './persons/routes';
import { serviceRoutes } from './service/routes';
import { streamRoutes } from './streams/routes';

/**
 * The bounded contexts: one folder, one route table, one Lambda each. The CDK app maps every route here to
 * its context's function; the local server dispatches to the same handlers. `health` also answers every
 * path no other context owns (it is the HTTP API's default route), so unknown paths get Mira's 404.
 */
export interface BoundedContext {
  name: string;
  routes: RouteDefinition[];
  /** Loads the context's Lambda handler module (lazily: the audio contexts load ONNX models). */
  loadHandler: () => Promise<ApiHandler>;
  /** Pushes events to the realtime sockets (shared/realtime): in AWS it may post to their connections. */
  publishesRealtime?: boolean;
}

export const contexts: BoundedContext[] = [
  {
    name: 'health',
    routes: healthRoutes,
    loadHandler: async () => (await import('./health/handler')).handler,
  },
  {
    name: 'service',
    publishesRealtime: true,
    routes: serviceRoutes,
    loadHandler: async () => (await import('./service/handler')).handler,
  },
  {
    name: 'persons',
    routes: personRoutes,
    loadHandler: async () => (await import('./persons/handler')).handler,
  },
  {
    name: 'conversations',
    routes: conversationRoutes,
    loadHandler: async () => (await import('./conversations/handler')).handler,
  },
  {
    name: 'interactions',
    publishesRealtime: true,
    routes: interactionRoutes,
    loadHandler: async () => (await import('./interactions/handler')).handler,
  },
  {
    name: 'actions',
    publishesRealtime: true,
    routes: actionRoutes,
    loadHandler: async () => (await import('./actions/handler')).handler,
  },
  {
    name: 'streams',
    routes: streamRoutes,
    loadHandler: async () => (await import('./streams/handler')).handler,
  },
  {
    name: 'auth',
    routes: authRoutes,
    loadHandler: async () => (await import('./auth/handler')).handler,
  },
];

/** The context that serves unknown routes. */
export const defaultContextName = 'health';
