import { createHandler } from '../../shared/http/pipeline';
import { docsContentSecurityPolicy } from './docs';
import { healthRoutes } from './routes';

/** Serves the root, health and documentation routes, and answers every path no other context owns. */
export const handler = createHandler(healthRoutes, { contentSecurityPolicy: docsContentSecurityPolicy });
