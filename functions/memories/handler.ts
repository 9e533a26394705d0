import { createHandler } from '../../shared/http/pipeline';
import { memoryRoutes } from './routes';

export const handler = createHandler(memoryRoutes);
