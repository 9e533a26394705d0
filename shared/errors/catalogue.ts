/**
 * Every error code the API answers with, its HTTP status and its default detail: the one catalogue that
 * the error factories, the route tables (`errors: [...]`) and `/openapi.json` read. A code not listed here
 * cannot be thrown (the type says so) nor documented.
 */
export const ERROR_CATALOGUE = {
  // 400: the request cannot be read.
  BAD_REQUEST: { status: 400, detail: 'The request is malformed' },
  EMPTY_BODY: { status: 400, detail: 'A request body is required' },
  MALFORMED_JSON: { status: 400, detail: 'The request body is not valid JSON' },
  MALFORMED_MULTIPART: { status: 400, detail: 'The multipart/form-data body is malformed' },
  MALFORMED_PATH: { status: 400, detail: 'The request path is not valid percent-encoding' },
  EMPTY_AUDIO: { status: 400, detail: 'The audio is empty' },
  UPLOAD_SIZE_MISMATCH: {
    status: 400,
    detail: 'The uploaded body is not the size the upload was asked for; ask POST P/uploads again',
  },
  INVALID_OAUTH_STATE: { status: 400, detail: 'The OAuth state is invalid or expired' },
  OAUTH_ORIGIN_NOT_ALLOWED: {
    status: 400,
    detail: 'This web app origin is not one this server signs in for (OAUTH_WEB_ORIGINS)',
  },
  INVALID_NEXT_PATH: { status: 400, detail: '`next` must be a path on the web app, such as /assistant' },
  UPGRADE_REQUIRED: { status: 426, detail: 'This is a WebSocket: open it with an Upgrade request' },
  BAD_HANDSHAKE: { status: 400, detail: 'Not a WebSocket version 13 handshake' },
  // Realtime socket messages (`{event: "error", ...}`), answered on the socket rather than over HTTP.
  UNKNOWN_MESSAGE: {
    status: 400,
    detail: 'Unknown message; the only message a client sends is {"type": "ping"}',
  },
  MESSAGE_TOO_LARGE: { status: 413, detail: 'Message too large' },

  // 401: no or bad credentials (sent with `WWW-Authenticate: Bearer`).
  UNAUTHORIZED: { status: 401, detail: 'Authentication required' },
  INVALID_TOKEN: { status: 401, detail: 'The token is invalid' },
  TOKEN_EXPIRED: { status: 401, detail: 'The token has expired' },
  TOKEN_REVOKED: { status: 401, detail: 'This session was revoked; sign in again' },
  INVALID_API_KEY: { status: 401, detail: 'The API key is invalid or revoked' },
  INVALID_CREDENTIALS: { status: 401, detail: 'Wrong email, username or password' },
  INVALID_SESSION_TOKEN: {
    status: 401,
    detail: 'The session token is invalid, expired or not for this session; reconnect the realtime socket',
  },
  REFRESH_TOKEN_REUSED: { status: 401, detail: 'This refresh token was already used; sign in again' },
  OAUTH_EXCHANGE_FAILED: { status: 401, detail: 'The provider did not accept the authorization code' },

  // 403: authenticated, but not allowed.
  FORBIDDEN: { status: 403, detail: 'Not a member of this network' },
  NETWORK_REQUIRED: { status: 403, detail: 'You own no network; name one of yours with X-Network-Id' },
  USER_TOKEN_REQUIRED: { status: 403, detail: 'This route needs a user token, not an API key' },
  OWNER_REQUIRED: { status: 403, detail: 'Only an owner of this network may do this' },
  ACCOUNT_DISABLED: { status: 403, detail: 'This account is disabled' },
  OAUTH_EMAIL_UNVERIFIED: { status: 403, detail: 'The provider has not verified this email address' },
  UPLOAD_URL_INVALID: { status: 403, detail: 'This upload URL is not valid; ask POST P/uploads for one' },
  UPLOAD_EXPIRED: { status: 403, detail: 'This upload URL has expired; ask POST P/uploads for a new one' },

  // 404: nothing there.
  NOT_FOUND: { status: 404, detail: 'Not found' },
  ROUTE_NOT_FOUND: { status: 404, detail: 'No such route' },
  NETWORK_NOT_FOUND: { status: 404, detail: 'Network not found' },
  CLIENT_NOT_FOUND: { status: 404, detail: 'The client is not registered in this network' },
  PERSON_NOT_FOUND: { status: 404, detail: 'Person not found in this network' },
  CONVERSATION_NOT_FOUND: { status: 404, detail: 'Conversation not found in this network' },
  INTERACTION_NOT_FOUND: { status: 404, detail: 'Interaction not found in this network' },
  UTTERANCE_NOT_FOUND: { status: 404, detail: 'Utterance not found in this network' },
  UPLOAD_NOT_FOUND: { status: 404, detail: 'Upload not found in this network' },
  ACTION_NOT_FOUND: { status: 404, detail: 'Action not found in this network' },
  MEMORY_NOT_FOUND: { status: 404, detail: 'Memory not found in this network' },
  API_KEY_NOT_FOUND: { status: 404, detail: 'No such API key in this network' },
  USER_NOT_FOUND: { status: 404, detail: 'No account with this email; they must register first' },
  MEMBER_NOT_FOUND: { status: 404, detail: 'This user is not a member of the network' },

  // 405
  METHOD_NOT_ALLOWED: { status: 405, detail: 'This method is not allowed here' },

  // 409: the state of the network forbids it.
  CLIENT_EXISTS: { status: 409, detail: 'A client of this name already exists in this network' },
  EMAIL_TAKEN: { status: 409, detail: 'An account with this email exists' },
  USERNAME_TAKEN: { status: 409, detail: 'This username is taken' },
  ALREADY_MEMBER: { status: 409, detail: 'This user is already a member' },
  LAST_OWNER: { status: 409, detail: 'The last owner cannot be removed; add another owner first' },
  SERVICE_DISABLED: { status: 409, detail: 'The service is disabled for this network' },
  CLIENT_DISABLED: { status: 409, detail: 'The service is disabled for this client' },
  UPLOAD_INCOMPLETE: {
    status: 409,
    detail: 'Nothing was uploaded yet: PUT the audio to the upload URL first, then register the upload',
  },
  IDEMPOTENCY_IN_PROGRESS: {
    status: 409,
    detail: 'A request with this Idempotency-Key is still being processed; retry shortly',
  },

  // 413 / 415: size and format.
  PAYLOAD_TOO_LARGE: { status: 413, detail: 'The request body is too large' },
  AUDIO_TOO_LARGE: { status: 413, detail: 'The audio is too large' },
  AUDIO_TOO_LONG: { status: 413, detail: 'The audio is too long' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, detail: 'This Content-Type is not accepted here' },
  UNSUPPORTED_AUDIO_FORMAT: {
    status: 415,
    detail: 'The audio format is not supported; send WAV, MP3, FLAC or raw PCM16',
  },

  // 422: well-formed but invalid.
  VALIDATION_ERROR: { status: 422, detail: 'The request is invalid' },
  CORRUPT_AUDIO: { status: 422, detail: 'The audio could not be decoded' },
  NO_SPEECH: { status: 422, detail: 'No speech was detected in the audio' },
  AUDIO_TOO_SHORT: { status: 422, detail: 'The audio holds too little speech' },
  VOICE_TEXT_MISMATCH: { status: 422, detail: 'The sample does not say the expected text' },
  VOICE_SAMPLE_NOT_SPEECH: {
    status: 422,
    detail: 'The sample sounds like music or tones, not a voice; record the person speaking',
  },
  INVALID_IDEMPOTENCY_KEY: {
    status: 422,
    detail: 'Idempotency-Key must be 1 to 255 printable ASCII characters',
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    detail: 'This Idempotency-Key was already used for a different request; use a new key for a new request',
  },

  // 429
  TOO_MANY_ATTEMPTS: { status: 429, detail: 'Too many attempts; try again later' },

  // 500
  INTERNAL_ERROR: { status: 500, detail: 'Internal server error' },

  // 502: a dependency answered, but not usably; nothing was stored.
  TRANSCRIPTION_FAILED: { status: 502, detail: 'The audio could not be transcribed; nothing was stored' },
  INFERENCE_FAILED: { status: 502, detail: 'The model could not extract an action; nothing was stored' },
  COMMAND_FAILED: { status: 502, detail: 'The command could not be answered' },

  // 503: a dependency is unavailable (with `Retry-After` where it helps).
  DATABASE_UNAVAILABLE: { status: 503, detail: 'The database is unavailable; retry shortly' },
  TRANSCRIPTION_UNAVAILABLE: {
    status: 503,
    detail:
      'Transcription is not configured on this server (no GEMINI_API_KEY); send a transcript or try later',
  },
  INFERENCE_UNAVAILABLE: {
    status: 503,
    detail: 'Inference is not configured on this server (no GEMINI_API_KEY)',
  },
  COMMAND_UNAVAILABLE: {
    status: 503,
    detail: 'Voice commands are not configured on this server (no GEMINI_API_KEY)',
  },
  OAUTH_NOT_CONFIGURED: { status: 503, detail: 'This sign-in provider is not configured on this server' },
  OAUTH_PROVIDER_UNAVAILABLE: { status: 503, detail: 'The sign-in provider could not be reached' },
} as const satisfies Record<string, { status: number; detail: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERROR_CATALOGUE, code);

export const statusOf = (code: ErrorCode): number => ERROR_CATALOGUE[code].status;
