import { createHandler } from '../../shared/http/pipeline';
import { conversationRoutes } from './routes';

export const handler = createHandler(conversationRoutes);
