import { Readable } from 'node:stream';
import * as z from 'zod';
import { invalidToken, validationError } from '../../shared/errors';
import { defineRoute, type RouteDefinition } from '../../shared/http/route';
import { uploadedFile } from '../../shared/http/upload';
import { clientIdSchema } from '../../shared/http/validation';
import { startVoiceCommand } from './service';

const voiceForm = z
  .object({
    audio: uploadedFile('The utterance, 16 kHz PCM16 WAV (MP3, FLAC and raw PCM16 are read too)'),
    client_id: clientIdSchema
      .optional()
      .meta({ description: 'The client that heard it; the session’s by default' }),
    session_token: z
      .string()
      .max(4096)
      .optional()
      .meta({ description: 'The realtime session’s `session_token`' }),
  })
  .meta({ id: 'VoiceCommandForm' });

export const voiceRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'POST',
    path: '/actions/voice',
    scope: 'scoped',
    tag: 'Actions',
    summary:
      'A spoken command, answered as a text/event-stream: transcript, tool_call/tool_result, token, error, done',
    body: voiceForm,
    accepts: ['multipart'],
    sessionToken: true,
    responses: {
      200: {
        description:
          '`text/event-stream`, one `data: {json}` line per event: `{type:"transcript", text}` first, ' +
          '`{type:"token", text}` as the reply streams, `{type:"tool_call", tool, status}` and ' +
          '`{type:"tool_result", tool, ok, summary?}` around each tool, `{type:"error", message}`, `{type:"done"}` last',
      },
    },
    errors: [
      'CLIENT_NOT_FOUND',
      'SERVICE_DISABLED',
      'COMMAND_UNAVAILABLE',
      'EMPTY_AUDIO',
      'AUDIO_TOO_LARGE',
      'AUDIO_TOO_LONG',
      'UNSUPPORTED_AUDIO_FORMAT',
      'CORRUPT_AUDIO',
      'AUDIO_TOO_SHORT',
      'NO_SPEECH',
    ],
    handler: async ({ db, networkId, body, session }) => {
      const clientId = body.client_id ?? session?.clientId;
      if (session && clientId !== session.clientId)
        throw invalidToken(
          `The session token is for client ${session.clientId}, not ${clientId}`,
          'INVALID_SESSION_TOKEN',
        );
      if (!clientId)
        throw validationError('client_id is required', [{ path: 'body.client_id', message: 'Required' }]);
      const events = await startVoiceCommand(db, { networkId, clientId, audio: body.audio.content });
      return {
        statusCode: 200,
        headers: {
          'Content-Type': 'text/event-stream',
          'Cache-Control': 'no-cache',
          'X-Accel-Buffering': 'no',
        },
        // A Readable: what Middy's streamifyResponse pipes, and an async iterable for the local server.
        body: Readable.from(events, { objectMode: false }),
      };
    },
  }),
];
