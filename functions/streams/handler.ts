import { createHandler } from '../../shared/http/pipeline';
import { streamRoutes } from './routes';

export const handler = createHandler(streamRoutes);
