import { createHandler } from '../../shared/http/pipeline';
import { interactionRoutes } from './routes';

export const handler = createHandler(interactionRoutes);
