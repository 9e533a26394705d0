// The OpenAPI fuzz suite (./openapi-fuzz.ts) over real sockets to bin/serve.ts as a child process.
import { describeFuzz } from './openapi-fuzz';

describeFuzz('http');
