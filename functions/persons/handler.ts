import { createHandler } from '../../shared/http/pipeline';
import { personRoutes } from './routes';

export const handler = createHandler(personRoutes);
