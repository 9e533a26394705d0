import { createHandler } from '../../shared/http/pipeline';
import { voiceRoutes } from './routes';

// The Lambda runtime provides `awslambda.streamifyResponse` (Powertools may create an empty `awslambda`
// elsewhere); the local server and tests call the same pipeline in its standard form and write the
// streamed body themselves.
const runtime = (globalThis as { awslambda?: { streamifyResponse?: unknown } }).awslambda;

export const handler = createHandler(voiceRoutes, {
  streaming: typeof runtime?.streamifyResponse === 'function',
});
