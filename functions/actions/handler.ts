import { createHandler } from '../../shared/http/pipeline';
import { actionRoutes } from './routes';

export const handler = createHandler(actionRoutes);
