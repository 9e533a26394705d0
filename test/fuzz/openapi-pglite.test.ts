// The OpenAPI fuzz suite (./openapi-fuzz.ts) on the embedded PGlite driver.
import { describeFuzz } from './openapi-fuzz';

describeFuzz('pglite');
