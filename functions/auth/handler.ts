import { createHandler } from '../../shared/http/pipeline';
import { authRoutes } from './routes';

/** Accounts, tokens, OAuth sign-in, network API keys and members. */
export const handler = createHandler(authRoutes);
