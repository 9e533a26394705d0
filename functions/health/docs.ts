import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as z from 'zod';
import { config } from '../../shared/config';
import { buildOpenApiDocument } from '../../shared/http/openapi';
import { defineRoute, ok, type HttpResult, type RouteDefinition } from '../../shared/http/route';
import type { BoundedContext } from '../contexts';

/**
 * The API reference: `/openapi.json` built from every context's route table, and two pages whose scripts
 * and styles come from npm packages shipped with the project (`swagger-ui-dist`, `redoc`), never from a
 * CDN, so they work offline.
 */

const tag = 'Documentation';
const require = createRequire(import.meta.url);
const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`));

/** The pages load only their own scripts; Swagger UI and Redoc set inline styles, Redoc starts a blob: worker. */
export const docsContentSecurityPolicy: Record<string, string> = {
  'default-src': "'self'",
  'script-src': "'self'",
  'style-src': "'self' 'unsafe-inline'",
  'img-src': "'self' data:",
  'font-src': "'self' data:",
  'worker-src': "'self' blob:",
  'connect-src': "'self'",
  // Swagger UI and Redoc write innerHTML, which Trusted Types would forbid; the pages are not sandboxed.
  'require-trusted-types-for': '',
  // Middy's defaults add `sandbox` and `upgrade-insecure-requests` when these are the empty string.
  sandbox: null as unknown as string,
  'upgrade-insecure-requests': null as unknown as string,
};

/** The document for a set of contexts; the bundler writes it beside the health Lambda at build time. */
export const generateOpenApiDocument = (contexts: BoundedContext[]) =>
  buildOpenApiDocument(
    contexts.flatMap((c) => c.routes),
    {
      title: 'Mira Backend API',
      version: config().appVersion,
      description:
        'Every route is served under `/api/v1` and `/api/v2`, network-scoped (`/api/vN/{network_id}/...`) ' +
        'and token-scoped (`/api/vN/...`). Every error is `{detail, error_code, timestamp}`.',
    },
  );

/** File name of the prebuilt document in a Lambda bundle. */
export const OPENAPI_FILE = 'openapi.json';

/**
 * The route tables import every context's code (the audio contexts bring onnxruntime-node), which the
 * health Lambda must not carry; so its bundle ships the document prebuilt from the same schemas, and only
 * the local server and tests build it from the tables. The specifier is a variable so that esbuild leaves
 * this import out of the bundle.
 */
const CONTEXTS_MODULE = '../contexts';

let documentCache: Promise<Record<string, any>> | undefined;
/** Built (or read) once per container: the routes do not change while it runs. */
export const openApiDocument = (): Promise<Record<string, any>> =>
  (documentCache ??= (async () => {
    const prebuilt = join(dirname(fileURLToPath(import.meta.url)), OPENAPI_FILE);
    if (existsSync(prebuilt)) {
      const document = JSON.parse(readFileSync(prebuilt, 'utf8')) as { info: { version: string } };
      document.info.version = config().appVersion;
      return document as Record<string, any>;
    }
    const { contexts } = (await import(CONTEXTS_MODULE)) as typeof import('../contexts');
    return generateOpenApiDocument(contexts) as Record<string, any>;
  })());

interface Asset {
  file: string;
  type: string;
}

const SWAGGER_ASSETS: Record<string, Asset> = {
  'swagger-ui.css': { file: 'swagger-ui.css', type: 'text/css; charset=utf-8' },
  'swagger-ui-bundle.js': { file: 'swagger-ui-bundle.js', type: 'text/javascript; charset=utf-8' },
  'favicon-32x32.png': { file: 'favicon-32x32.png', type: 'image/png' },
};
const REDOC_ASSETS: Record<string, Asset> = {
  'redoc.standalone.js': { file: 'bundles/redoc.standalone.js', type: 'text/javascript; charset=utf-8' },
};

const SWAGGER_INIT = `window.addEventListener('load', function () {
  // Groups start collapsed: with every group open at once (280 operations), Swagger UI stopped rendering
  // after the first two groups.
  window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, docExpansion: 'none', validatorUrl: null });
});
`;

const page = (title: string, head: string, body: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
${head}
</head>
<body style="margin:0">
${body}
</body>
</html>
`;

const SWAGGER_PAGE = page(
  'Mira API reference',
  '<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">\n<link rel="stylesheet" href="/docs/swagger-ui.css">',
  '<div id="swagger-ui"></div>\n<script src="/docs/swagger-ui-bundle.js"></script>\n<script src="/docs/swagger-initializer.js"></script>',
);
const REDOC_PAGE = page(
  'Mira API reference (Redoc)',
  '<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">',
  '<redoc spec-url="/openapi.json"></redoc>\n<script src="/redoc/redoc.standalone.js"></script>',
);

const assetCache = new Map<string, { raw: Buffer; gzip: Buffer }>();
const load = (key: string, read: () => Buffer) => {
  let cached = assetCache.get(key);
  if (!cached) {
    const raw = read();
    assetCache.set(key, (cached = { raw, gzip: gzipSync(raw) }));
  }
  return cached;
};

/** Static content, gzipped when the client accepts it (API Gateway HTTP APIs do not compress). */
function serve(
  key: string,
  type: string,
  read: () => Buffer,
  headers: Record<string, string>,
  cacheSeconds = 3600,
): HttpResult {
  const { raw, gzip } = load(key, read);
  const base = { 'Content-Type': type, 'Cache-Control': `public, max-age=${cacheSeconds}` };
  if (/\bgzip\b/.test(headers['accept-encoding'] ?? '')) {
    return {
      statusCode: 200,
      body: gzip,
      headers: { ...base, 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' },
    };
  }
  // Text goes out as text; only binary (and gzipped) bodies need API Gateway's base64 encoding.
  return { statusCode: 200, body: type.startsWith('text/') ? raw.toString('utf8') : raw, headers: base };
}

const html = (key: string, content: string, headers: Record<string, string>) =>
  serve(key, 'text/html; charset=utf-8', () => Buffer.from(content), headers, 300);

const assetParams = (names: string[]) => z.object({ asset: z.enum(names as [string, ...string[]]) });

export const docsRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'GET',
    path: '/openapi.json',
    scope: 'root',
    access: 'public',
    tag,
    summary: 'OpenAPI 3.1 document of every route',
    responses: { 200: { description: 'The OpenAPI document' } },
    handler: async () => ok(await openApiDocument(), { 'Cache-Control': 'public, max-age=300' }),
  }),
  defineRoute({
    method: 'GET',
    path: '/docs',
    scope: 'root',
    access: 'public',
    tag,
    summary: 'Interactive API reference (Swagger UI)',
    responses: { 200: { description: 'An HTML page' } },
    handler: async ({ headers }) => html('docs.html', SWAGGER_PAGE, headers),
  }),
  defineRoute({
    method: 'GET',
    path: '/docs/{asset}',
    scope: 'root',
    access: 'public',
    tag,
    summary: 'Scripts, styles and icons of the Swagger UI page',
    params: assetParams([...Object.keys(SWAGGER_ASSETS), 'swagger-initializer.js']),
    responses: { 200: { description: 'The asset' } },
    handler: async ({ params, headers }) => {
      if (params.asset === 'swagger-initializer.js')
        return serve(
          'swagger-init',
          'text/javascript; charset=utf-8',
          () => Buffer.from(SWAGGER_INIT),
          headers,
        );
      const asset = SWAGGER_ASSETS[params.asset];
      return serve(
        `swagger/${asset.file}`,
        asset.type,
        () => readFileSync(join(packageDir('swagger-ui-dist'), asset.file)),
        headers,
      );
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/redoc',
    scope: 'root',
    access: 'public',
    tag,
    summary: 'API reference (Redoc)',
    responses: { 200: { description: 'An HTML page' } },
    handler: async ({ headers }) => html('redoc.html', REDOC_PAGE, headers),
  }),
  defineRoute({
    method: 'GET',
    path: '/redoc/{asset}',
    scope: 'root',
    access: 'public',
    tag,
    summary: 'Script of the Redoc page',
    params: assetParams(Object.keys(REDOC_ASSETS)),
    responses: { 200: { description: 'The asset' } },
    handler: async ({ params, headers }) => {
      const asset = REDOC_ASSETS[params.asset];
      return serve(
        `redoc/${asset.file}`,
        asset.type,
        () => readFileSync(join(packageDir('redoc'), asset.file)),
        headers,
      );
    },
  }),
];
