import { conversationExists } from '../../shared/db/repositories/conversations';
import {
  deleteInteraction,
  findInteraction,
  listInteractionsPage,
} from '../../shared/db/repositories/interactions';
import { personExists } from '../../shared/db/repositories/persons';
import {
  conversationNotFound,
  interactionNotFound,
  personNotFound,
  invalidToken,
  httpError,
  validationError,
  type ErrorCode,
} from '../../shared/errors';
import { created, defineRoute, noContent, ok, type RouteDefinition } from '../../shared/http/route';
import {
  createInteractionBody,
  interactionDeletedSchema,
  interactionListQuery,
  interactionListSchema,
  interactionParams,
  interactionSchema,
  registerBody,
  registerOkSchema,
  registerQuery,
  toInteraction,
  batchAcceptedSchema,
  batchForm,
  utteranceAcceptedSchema,
  utteranceParams,
  utteranceStatusSchema,
  uploadAnswerSchema,
  uploadBody,
} from './schemas';
import {
  acceptBatch,
  batchFieldError,
  MAX_BATCH_PARTS,
  registerUpload,
  registerUtterance,
  type BatchPart,
  type RegisterAnswer,
} from './register';
import { createUpload } from './uploads';
import { toUtteranceStatus } from './utterances';
import { findUtterance } from '../../shared/db/repositories/utterances';
import { inferenceRoute } from './inference';
import { recordInteraction } from './service';

const tag = 'Interactions';

const asHttpResult = (answer: RegisterAnswer) => ({
  statusCode: answer.statusCode,
  body: answer.body,
  headers: answer.replayed ? { 'Idempotent-Replayed': 'true' } : undefined,
});

/** What accepting a recording can refuse, on every route that takes one (register, batch). */
const acceptedAudioErrors: ErrorCode[] = [
  'CLIENT_NOT_FOUND',
  'SERVICE_DISABLED',
  'CLIENT_DISABLED',
  'EMPTY_AUDIO',
  'AUDIO_TOO_LARGE',
  'AUDIO_TOO_LONG',
  'UNSUPPORTED_AUDIO_FORMAT',
  'NO_SPEECH',
  'CORRUPT_AUDIO',
  'AUDIO_TOO_SHORT',
  'TRANSCRIPTION_UNAVAILABLE',
];

/**
 * The next page's headers: the cursor alone, and the same request's URL with `before` set to it (the
 * filters and limit kept; no offset, which the cursor replaces). A relative URL, valid behind any host.
 */
function nextPageHeaders(event: { rawPath: string; rawQueryString?: string }, cursor: string) {
  const query = new URLSearchParams(event.rawQueryString ?? '');
  query.delete('offset');
  query.set('before', cursor);
  return { 'Next-Cursor': cursor, Link: `<${event.rawPath}?${query.toString()}>; rel="next"` };
}

export const interactionRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'POST',
    path: '/interactions',
    scope: 'scoped',
    tag,
    summary: 'Record a text interaction; without conversation_id it joins or starts one by the time rules',
    body: createInteractionBody,
    responses: { 201: { description: 'The stored interaction', schema: interactionSchema } },
    errors: ['PERSON_NOT_FOUND', 'CONVERSATION_NOT_FOUND', 'CLIENT_NOT_FOUND'],
    idempotency: 'pipeline',
    handler: async ({ db, networkId, body, idempotency }) => {
      const interaction = await recordInteraction(
        db,
        {
          networkId: networkId,
          personId: body.person_id ?? null,
          conversationId: body.conversation_id ?? null,
          clientId: body.client_id ?? null,
          interactionType: body.interaction_type,
          text: body.content,
          timestamp: body.timestamp ? new Date(body.timestamp) : undefined,
          metadata: body.metadata ?? {},
          idempotencyKey: idempotency?.key ?? null,
        },
        // The answer a retry with the same key gets commits with the row.
        (trx, stored) => idempotency?.complete?.(trx, 201, toInteraction(stored)) ?? Promise.resolve(),
      );
      return created(toInteraction(interaction));
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/interactions/register',
    scope: 'scoped',
    tag,
    summary:
      'Register an utterance heard by a client: arbitration between clients, transcription, speaker, ' +
      'conversation, wake word and command',
    query: registerQuery,
    body: registerBody,
    accepts: ['multipart', 'binary', 'json'],
    sessionToken: true,
    idempotency: 'handler',
    responses: {
      201: { description: 'The stored interaction', schema: interactionSchema },
      200: {
        description:
          '`{message}`: the reply to a command started by the wake word (the utterance is stored, marked ' +
          'as a command); or `{message, best_client_id, best_score, current_client_id}` when another ' +
          'client heard the same utterance better and nothing was stored for this copy',
        schema: registerOkSchema,
      },
      202: {
        description:
          '`Prefer: respond-async`: accepted (the audio is stored and queued), `{utterance_id, status}`; ' +
          'the outcome follows on the realtime socket and on GET P/utterances/{utterance_id}. Also the ' +
          'answer of a synchronous upload whose outcome did not come within the wait bound, and of every ' +
          'registered `upload_id` (POST P/uploads)',
        schema: utteranceAcceptedSchema,
      },
      204: {
        description:
          'Token-scoped uploads: accepted (the audio is stored and queued), before transcription; no body ' +
          '(the outcome follows on the realtime socket)',
      },
    },
    errors: [
      ...acceptedAudioErrors,
      'IDEMPOTENCY_IN_PROGRESS',
      'IDEMPOTENCY_KEY_REUSED',
      'INVALID_IDEMPOTENCY_KEY',
      'TRANSCRIPTION_FAILED',
      'UPLOAD_NOT_FOUND',
      'UPLOAD_INCOMPLETE',
    ],
    handler: async ({ db, networkId, query, body, headers, scope, idempotency, session }) => {
      const raw = Buffer.isBuffer(body);
      const form = raw ? undefined : body;
      // In a realtime session the client is the session's (the name the server gave it on session_ready).
      const clientId = form?.client_id ?? query.client_id ?? session?.clientId;
      if (session && clientId !== session.clientId)
        throw invalidToken(
          `The session token is for client ${session.clientId}, not ${clientId}`,
          'INVALID_SESSION_TOKEN',
        );
      const capturedAt = form?.captured_at ?? query.captured_at;
      if (form?.upload_id) {
        // A recording PUT to storage beforehand (POST P/uploads), which names its client: always answered
        // once accepted.
        const answer = await registerUpload(db, {
          networkId,
          uploadId: form.upload_id,
          clientId,
          capturedAt: capturedAt ? new Date(capturedAt) : undefined,
          transcript: form.transcript,
        });
        return asHttpResult(answer);
      }
      if (!clientId)
        throw validationError('client_id is required', [
          { path: raw ? 'query.client_id' : 'body.client_id', message: 'Required' },
        ]);
      const respondAsync = /\brespond-async\b/i.test(headers.prefer ?? '');
      const answer = await registerUtterance(db, {
        networkId: networkId,
        clientId,
        audio: raw ? body : form!.audio!.content,
        rawPcm16: raw,
        capturedAt: capturedAt ? new Date(capturedAt) : undefined,
        transcript: form?.transcript,
        idempotencyKey: idempotency?.key,
        // Token-scoped clients (desktop app) and `Prefer: respond-async` get the outcome on the realtime
        // socket: the `interaction` event, then `command_response` for a command (published by the worker).
        async: scope === 'token' || respondAsync,
      });
      if (scope === 'token' && !respondAsync) return noContent();
      return asHttpResult(answer);
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/interactions',
    scope: 'scoped',
    tag,
    summary: 'Interactions, newest first, by person and/or conversation',
    query: interactionListQuery,
    responses: {
      200: {
        description:
          'A page of interactions. When the page is full, the `Next-Cursor` header holds the `before` cursor ' +
          'of the next (older) page and `Link` its URL with `rel="next"`; the body stays a plain array.',
        schema: interactionListSchema,
        headers: {
          'Next-Cursor': 'The `before` value of the next page (absent on the last page)',
          Link: 'The next page\'s URL, `<...>; rel="next"` (absent on the last page)',
        },
      },
    },
    errors: ['PERSON_NOT_FOUND', 'CONVERSATION_NOT_FOUND'],
    handler: async ({ db, networkId, query, event }) => {
      if (query.person_id && !(await personExists(db, networkId, query.person_id))) throw personNotFound();
      if (query.conversation_id && !(await conversationExists(db, networkId, query.conversation_id)))
        throw conversationNotFound();
      const { rows, nextCursor } = await listInteractionsPage(db, networkId, {
        personId: query.person_id,
        conversationId: query.conversation_id,
        conversationIds: query.conversation_ids,
        orphansOnly: query.orphans_only,
        before: query.before,
        limit: query.limit,
        offset: query.offset,
      });
      return ok(rows.map(toInteraction), nextCursor ? nextPageHeaders(event, nextCursor) : undefined);
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/interactions/{interaction_id}',
    scope: 'scoped',
    tag,
    summary: 'One interaction',
    params: interactionParams,
    responses: { 200: { description: 'The interaction', schema: interactionSchema } },
    errors: ['INTERACTION_NOT_FOUND'],
    handler: async ({ db, networkId, params }) => {
      const interaction = await findInteraction(db, networkId, params.interaction_id);
      if (!interaction) throw interactionNotFound();
      return ok(toInteraction(interaction));
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/interactions/{interaction_id}',
    scope: 'scoped',
    tag,
    summary: 'Delete an interaction and the actions drawn from it',
    params: interactionParams,
    responses: { 200: { description: 'Deleted', schema: interactionDeletedSchema } },
    errors: ['INTERACTION_NOT_FOUND'],
    handler: async ({ db, networkId, params }) => {
      if (!(await deleteInteraction(db, networkId, params.interaction_id))) throw interactionNotFound();
      return ok({ detail: 'Interaction deleted successfully' });
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/interactions/batch',
    scope: 'scoped',
    tag,
    summary:
      'Hand in utterances a device recorded while offline: processed in capture order and deduplicated ' +
      'against the copies other devices already sent',
    body: batchForm,
    accepts: ['multipart'],
    responses: { 202: { description: 'Accepted: one utterance id per part', schema: batchAcceptedSchema } },
    errors: acceptedAudioErrors,
    handler: async ({ db, networkId, body }) => {
      const form = body as Record<string, unknown>;
      const parts: BatchPart[] = [];
      for (let i = 0; i < MAX_BATCH_PARTS; i++) {
        const audio = form[`audio_${i}`] as { content: Buffer } | undefined;
        const capturedAt = form[`captured_at_${i}`] as string | undefined;
        if (!audio && !capturedAt) continue;
        if (!audio) throw batchFieldError(`captured_at_${i} has no audio_${i}`, `body.audio_${i}`);
        if (!capturedAt) throw batchFieldError(`audio_${i} needs captured_at_${i}`, `body.captured_at_${i}`);
        parts.push({
          audio: audio.content,
          capturedAt: new Date(capturedAt),
          transcript: form[`transcript_${i}`] as string | undefined,
        });
      }
      if (parts.length === 0)
        throw batchFieldError('At least one part (audio_0 and captured_at_0)', 'body.audio_0');
      parts.sort((a, b) => a.capturedAt.getTime() - b.capturedAt.getTime());
      return { statusCode: 202, body: await acceptBatch(db, networkId, body.client_id, parts) };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/utterances/{utterance_id}',
    scope: 'scoped',
    tag,
    summary: 'An accepted upload: its status and, once stored, its interaction',
    params: utteranceParams,
    responses: { 200: { description: 'The utterance', schema: utteranceStatusSchema } },
    errors: ['UTTERANCE_NOT_FOUND'],
    handler: async ({ db, networkId, params }) => {
      const utterance = await findUtterance(db, networkId, params.utterance_id);
      if (!utterance) throw httpError('UTTERANCE_NOT_FOUND');
      return ok(await toUtteranceStatus(db, utterance));
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/uploads',
    scope: 'scoped',
    tag,
    summary:
      'A URL to PUT a large recording to (over about 4.5 MB, which the API cannot take in its body); then ' +
      'register it with POST P/interactions/register {upload_id}',
    body: uploadBody,
    idempotency: 'pipeline',
    responses: { 201: { description: 'Where to PUT the recording, until when', schema: uploadAnswerSchema } },
    errors: ['CLIENT_NOT_FOUND', 'SERVICE_DISABLED', 'CLIENT_DISABLED', 'AUDIO_TOO_LARGE'],
    handler: async ({ db, networkId, body, event }) => {
      const forwarded = event.headers['x-forwarded-proto']?.split(',')[0]?.trim();
      return created(
        await createUpload(db, {
          networkId,
          clientId: body.client_id,
          contentType: body.content_type,
          sizeBytes: body.size,
          capturedAt: body.captured_at ? new Date(body.captured_at) : undefined,
          localOrigin: `${forwarded === 'https' ? 'https' : 'http'}://${event.requestContext.domainName}`,
        }),
      );
    },
  }),
  inferenceRoute,
];
