import * as z from 'zod';
import { ERROR_CATALOGUE } from '../errors';
import type { RouteDefinition } from './route';
import { codesByStatus, documentedErrorCodes, type OperationForm } from './route-errors';
import { errorSchema } from './validation';
import { compareCodeUnits } from './router';

/**
 * Builds the OpenAPI 3.1 document from the route tables: the very zod schemas that validate requests and
 * check responses, converted by zod's own `z.toJSONSchema` (JSON Schema 2020-12, which OpenAPI 3.1 uses
 * as is). Schemas named with `.meta({id})` become `components.schemas`; their `example` travels along.
 */

type JsonSchema = Record<string, unknown>;
type Io = 'input' | 'output';

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

const COMPONENTS = '#/components/schemas/';
const ERROR_REF = { $ref: `${COMPONENTS}Error` };

/** Converts one schema, moving its named sub-schemas (`$defs`) into the shared components. */
function convert(schema: z.ZodType, io: Io, components: Record<string, JsonSchema>): JsonSchema {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  const rewritten = JSON.parse(JSON.stringify(json).replaceAll('"#/$defs/', `"${COMPONENTS}`)) as JsonSchema;
  const { $schema: _ignored, $defs, ...rest } = rewritten;
  for (const [id, def] of Object.entries(($defs ?? {}) as Record<string, JsonSchema>)) {
    // Responses are converted first; their (output) form wins when a schema serves both directions.
    components[id] ??= def;
  }
  return rest;
}

const exampleOf = (schema: z.ZodType | undefined): unknown =>
  schema ? (z.globalRegistry.get(schema) as { example?: unknown } | undefined)?.example : undefined;

const objectProperties = (schema: z.ZodType | undefined, io: Io, components: Record<string, JsonSchema>) => {
  if (!schema) return { properties: {} as Record<string, JsonSchema>, required: [] as string[] };
  const json = convert(schema, io, components);
  return {
    properties: (json.properties ?? {}) as Record<string, JsonSchema>,
    required: (json.required ?? []) as string[],
  };
};

const MEDIA_TYPES = {
  json: 'application/json',
  multipart: 'multipart/form-data',
  form: 'application/x-www-form-urlencoded',
  binary: 'application/octet-stream',
} as const;

const TAG_DESCRIPTIONS: Record<string, string> = {
  Health: 'Banner, liveness and readiness',
  Documentation: 'This reference',
  Networks: 'Creating networks',
  Service: 'The network, its clients and the on/off switches',
  Persons: 'People of the network; `index` 1, 2, 3... per network',
  Conversations: 'Utterances grouped by time and speaker',
  Interactions: 'What was said, by whom, heard by which client',
  Actions: 'Reminders, appointments and contacts drawn from interactions',
  Streams: 'Audio quality per client and the best stream of the network',
};

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request',
  401: 'No or bad credentials',
  403: 'Not a member of this network',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Body too large',
  415: 'Unsupported media type',
  422: 'Validation failed',
  426: 'Upgrade required',
  429: 'Throttled',
  500: 'Internal error',
  502: 'A dependency failed',
  503: 'A dependency is unavailable',
};

function operation(
  route: RouteDefinition,
  form: OperationForm,
  components: Record<string, JsonSchema>,
  operationId: string,
) {
  const responses: Record<string, unknown> = {};
  for (const [status, spec] of Object.entries(route.responses)) {
    const example = exampleOf(spec.schema);
    const headers = spec.headers && {
      headers: Object.fromEntries(
        Object.entries(spec.headers).map(([name, description]) => [
          name,
          { description, schema: { type: 'string' } },
        ]),
      ),
    };
    responses[status] = spec.schema
      ? {
          description: spec.description,
          ...headers,
          content: {
            'application/json': {
              schema: convert(spec.schema, 'output', components),
              ...(example !== undefined ? { example } : {}),
            },
          },
        }
      : { description: spec.description, ...headers };
  }
  for (const [status, codes] of codesByStatus(documentedErrorCodes(route, form))) {
    if (responses[status]) continue;
    responses[status] = {
      description: `${STATUS_TEXT[status] ?? 'Error'}: ${codes.join(', ')}`,
      content: {
        'application/json': {
          schema: { ...ERROR_REF },
          example: {
            detail: ERROR_CATALOGUE[codes[0]].detail,
            error_code: codes[0],
            timestamp: '2026-01-01T00:00:00Z',
          },
        },
      },
      'x-error-codes': codes,
    };
  }

  const parameters: unknown[] = [];
  const pathParams = objectProperties(route.params, 'input', components);
  const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  if (form !== 'root') {
    parameters.push({
      name: 'version',
      in: 'path',
      required: true,
      schema: { type: 'string', enum: ['v1', 'v2'] },
    });
    if (form === 'network')
      parameters.push({
        name: 'network_id',
        in: 'path',
        required: true,
        description: 'The network',
        schema: { type: 'string', format: 'uuid' },
      });
  }
  for (const name of names) {
    parameters.push({
      name,
      in: 'path',
      required: true,
      schema:
        pathParams.properties[name] ??
        (name === 'version' ? { type: 'string', enum: ['v1', 'v2'] } : { type: 'string' }),
    });
  }
  const query = objectProperties(route.query, 'input', components);
  for (const [name, schema] of Object.entries(query.properties)) {
    parameters.push({ name, in: 'query', required: query.required.includes(name), schema });
  }

  let requestBody: unknown;
  if (route.body) {
    const schema = convert(route.body, 'input', components);
    const example = exampleOf(route.body);
    requestBody = {
      required: !route.bodyOptional,
      content: Object.fromEntries(
        (route.accepts ?? ['json']).map((kind) => [
          MEDIA_TYPES[kind],
          kind === 'binary'
            ? { schema: { type: 'string', contentMediaType: 'application/octet-stream' } }
            : { schema, ...(example !== undefined && kind === 'json' ? { example } : {}) },
        ]),
      ),
    };
  }

  return {
    operationId,
    tags: [route.tag],
    summary: route.summary,
    ...(form === 'token'
      ? { description: 'Token-scoped form: the network is the one of the bearer token.' }
      : form === 'network'
        ? { description: 'Network-scoped form: the network id is in the path.' }
        : {}),
    // Public routes need nothing; token-scoped ones a bearer token; network-scoped ones accept one, and
    // old clients call them by network id alone where LEGACY_NETWORK_AUTH allows it.
    security:
      form === 'root' || route.access === 'public'
        ? []
        : form === 'token'
          ? [{ bearer: [] }]
          : [{ bearer: [] }, {}],
    ...(parameters.length ? { parameters } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses,
  };
}

const operationIdOf = (route: RouteDefinition, form: string) =>
  [
    route.method.toLowerCase(),
    ...route.path.split(/[^A-Za-z0-9]+/).filter(Boolean),
    form === 'root' ? '' : form,
  ]
    .filter(Boolean)
    .join('_');

/**
 * The OpenAPI 3.1 document of the given routes. A scoped route appears twice: under
 * `/api/{version}/{network_id}` (network-scoped) and under `/api/{version}` (token-scoped).
 */
export function buildOpenApiDocument(routes: RouteDefinition[], info: OpenApiInfo) {
  const components: Record<string, JsonSchema> = {};
  const paths: Record<string, Record<string, unknown>> = {};
  const put = (path: string, route: RouteDefinition, form: OperationForm) => {
    const item = (paths[path] ??= {});
    item[route.method.toLowerCase()] = operation(route, form, components, operationIdOf(route, form));
  };
  // Responses first, so a component shared by requests and responses keeps its response form.
  const ordered = [...routes].sort((a, b) => Number(!!a.body) - Number(!!b.body));
  for (const route of ordered) {
    if (route.scope === 'root') {
      put(route.path, route, 'root');
    } else {
      put(`/api/{version}/{network_id}${route.path}`, route, 'network');
      put(`/api/{version}${route.path}`, route, 'token');
    }
  }
  components.Error = convert(errorSchema, 'output', components);
  const tags = [...new Set(routes.map((r) => r.tag))].map((name) => ({
    name,
    ...(TAG_DESCRIPTIONS[name] ? { description: TAG_DESCRIPTIONS[name] } : {}),
  }));
  const sortedPaths = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => compareCodeUnits(a, b)));
  return {
    openapi: '3.1.0',
    info,
    servers: [{ url: '/' }],
    tags,
    paths: sortedPaths,
    components: {
      schemas: Object.fromEntries(Object.entries(components).sort(([a], [b]) => compareCodeUnits(a, b))),
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
}
