// The OpenAPI fuzz suite (./openapi-fuzz.ts) on node-postgres, where DATABASE_URL names a server.
import { describeFuzz } from './openapi-fuzz';

describeFuzz('postgres');
