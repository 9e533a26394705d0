import { createHandler } from '../../shared/http/pipeline';
import { serviceRoutes } from './routes';

export const handler = createHandler(serviceRoutes);
