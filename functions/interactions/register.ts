/**
 * `POST P/interactions/register` and `POST P/interactions/batch`: ACCEPTING an utterance (register v2).
 *
 *   validate client -> analyse audio (decode, VAD, quality: no speaker model, no Gemini) -> stream quality
 *   -> VAD gate -> store the audio (shared/storage) -> record the copy (utterances) -> enqueue (shared/queue)
 *
 * The worker (./worker.ts) does the rest once the copy's settle window has closed. Token-scoped uploads and
 * `Prefer: respond-async` are answered as soon as the copy is accepted (204 / 202 with its utterance id);
 * network-scoped synchronous callers wait here for the worker's outcome and get today's answers.
 *
 * The copy's row is also the Idempotency-Key's record: a retry with the key finds it and gets its outcome
 * (or, asynchronously, its id again), so a retry can never make a second copy.
 */
import { randomUUID } from 'node:crypto';
import { isGeminiConfigured, TranscriptionUnavailableError } from '../../shared/ai';
import { analyzeAudio, type AudioAnalysis } from '../../shared/audio';
import type { Db } from '../../shared/db/client';
import {
  idempotencyKeyReused,
  invalidIdempotencyKey,
  isValidIdempotencyKey,
  requestFingerprint,
} from '../../shared/db/repositories/idempotency';
import { findClient, findNetwork } from '../../shared/db/repositories/networks';
import { findAudioUpload } from '../../shared/db/repositories/uploads';
import {
  findUtteranceById,
  findUtteranceByKey,
  insertUtterance,
} from '../../shared/db/repositories/utterances';
import type { Network, Utterance } from '../../shared/db/types';
import {
  clientNotFound,
  httpError,
  HttpError,
  isErrorCode,
  networkNotFound,
  noSpeech,
  validationError,
} from '../../shared/errors';
import { countMetric } from '../../shared/observability';
import { config } from '../../shared/config';
import { audioStorage } from '../../shared/storage';
import { measureCopy } from '../streams/service';
import { audioDigest, UPLOAD_MAX_SECONDS, utteranceQueue } from './worker';

export interface RegisterRequest {
  networkId: string;
  clientId: string;
  /** The uploaded bytes: an audio file, or raw PCM16 16 kHz mono when `rawPcm16`. */
  audio: Uint8Array;
  rawPcm16: boolean;
  /** When the client captured the utterance; the arrival time when absent. */
  capturedAt?: Date;
  /** The client's own transcript (on-device speech recognition). */
  transcript?: string;
  idempotencyKey?: string;
  /** Bounds for the audio package (defaults: its own). */
  maxBytes?: number;
  maxSeconds?: number;
  /** Answer once accepted (token scope, `Prefer: respond-async`) instead of waiting for the outcome. */
  async?: boolean;
  /** The audio is already in storage under this key (a registered upload): it is not stored again. */
  storedAudioKey?: string;
  /** The Idempotency-Key's fingerprint when it is not the request's bytes (a registered upload). */
  fingerprint?: string;
}

export interface RegisterAnswer {
  /**
   * Synchronous: 201 with the stored Interaction; 200 with a command's `{message}` or the "better audio
   * streams" answer. Asynchronous (or a synchronous wait that ran out): 202 `{utterance_id, status}`.
   */
  statusCode: 200 | 201 | 202;
  body: unknown;
  /** True when this is the first outcome of an earlier request with the same Idempotency-Key. */
  replayed: boolean;
  utteranceId: string;
}

/** The network setting `arbitration_settle_ms` overrides ARBITRATION_SETTLE_MS for one network. */
export function settleMsOf(network: Network): number {
  const value = Number((network.settings ?? {}).arbitration_settle_ms);
  return Number.isInteger(value) && value >= 0 && value <= 10_000 ? value : config().pipeline.settleMs;
}

/** The network and the client (registered in this network) must exist and be listening. */
export async function admitClient(db: Db, networkId: string, clientId: string): Promise<Network> {
  const network = await findNetwork(db, networkId);
  if (!network) throw networkNotFound();
  const client = await findClient(db, networkId, clientId);
  if (!client) throw clientNotFound(clientId);
  // Disabled means Mira is not listening: nothing heard is stored (PATCH P/service/... enables it again).
  if (!network.service_enabled)
    throw httpError(
      'SERVICE_DISABLED',
      'The service is disabled for this network; enable it to register speech',
    );
  if (!client.enabled)
    throw httpError(
      'CLIENT_DISABLED',
      `The service is disabled for client ${clientId}; enable it to register speech`,
    );
  return network;
}

/**
 * The client must be admitted (above) and the upload transcribable; refused before any audio work.
 */
async function admit(db: Db, networkId: string, clientId: string, hasTranscript: boolean) {
  const network = await admitClient(db, networkId, clientId);
  // Fail fast, before any work: without a model and without the client's transcript nothing can be stored.
  if (!hasTranscript && !isGeminiConfigured())
    throw new TranscriptionUnavailableError(
      'Transcription is not configured on this server (no GEMINI_API_KEY). Send the `transcript` field ' +
        'with the audio (on-device speech recognition), or try again once transcription is configured.',
    );
  return network;
}

/** Decode, VAD and the quality score: cheap (no speaker model); the worker decodes again for the rest. */
async function measure(
  db: Db,
  request: RegisterRequest,
): Promise<{ analysis: AudioAnalysis; score: number }> {
  const analysis = await analyzeAudio(request.audio, {
    rawPcm16: request.rawPcm16,
    pcm16Fallback: true,
    maxBytes: request.maxBytes,
    maxSeconds: request.maxSeconds,
    embedding: false,
  });
  // The copy's stream score (acoustics plus the client's stored location and RSSI), and the client's
  // running stream quality: a measurement of its audio, true whatever becomes of this copy.
  const { score } = await measureCopy(db, request.networkId, request.clientId, analysis.quality);
  // No speech: never a copy that could win the utterance and then give up; no model call.
  if (analysis.vad.segments.length === 0) {
    countMetric('NoSpeech');
    throw noSpeech();
  }
  return { analysis, score };
}

/**
 * What the worker may reuse of the accept's analysis: the speech segments, with the digest of the bytes
 * they were found in (an upload's object can be written again while its URL is valid: then the worker
 * measures the new bytes itself). About 2 ms per MB.
 */
const measuredSegments = (analysis: AudioAnalysis, audio: Uint8Array) => ({
  ...analysis.vad,
  sha256: audioDigest(audio),
});

const fingerprintOf = (request: RegisterRequest) =>
  requestFingerprint(
    'POST /interactions/register',
    request.clientId,
    request.capturedAt?.toISOString(),
    request.transcript,
    request.rawPcm16 ? 'pcm16' : 'file',
    request.audio,
  );

const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === '23505';

/**
 * Accepts one copy: its audio is stored durably and its job queued before this returns, so a crash from
 * here on loses nothing. Answers the earlier copy when the Idempotency-Key was used before.
 */
async function accept(
  db: Db,
  request: RegisterRequest,
): Promise<{ utterance: Pick<Utterance, 'id' | 'status'>; replayed: boolean }> {
  const key = request.idempotencyKey;
  const fingerprint = key ? (request.fingerprint ?? fingerprintOf(request)) : null;
  if (key) {
    if (!isValidIdempotencyKey(key)) throw invalidIdempotencyKey();
    const earlier = await findUtteranceByKey(db, request.networkId, key);
    if (earlier) return replay(db, earlier, fingerprint!);
  }
  const network = await admit(db, request.networkId, request.clientId, Boolean(request.transcript));
  countMetric('UtterancesReceived');
  const { analysis, score } = await measure(db, request);

  const id = randomUUID();
  const audioKey = request.storedAudioKey ?? `${request.networkId}/${id}`;
  if (!request.storedAudioKey) await audioStorage().put(audioKey, request.audio);
  let settleInMs: number;
  try {
    ({ settleInMs } = await insertUtterance(db, {
      id,
      audioKey,
      networkId: request.networkId,
      clientId: request.clientId,
      capturedAt: request.capturedAt ?? new Date(),
      score,
      settleMs: settleMsOf(network),
      rawPcm16: request.rawPcm16,
      transcript: request.transcript ?? null,
      idempotencyKey: key ?? null,
      fingerprint,
      vad: measuredSegments(analysis, request.audio),
    }));
  } catch (error) {
    // An upload's object stays: registering it again must find it.
    if (!request.storedAudioKey)
      await audioStorage()
        .delete(audioKey)
        .catch(() => undefined);
    // The same key at the same moment: the other request's copy is the one.
    if (key && isUniqueViolation(error)) {
      const earlier = await findUtteranceByKey(db, request.networkId, key);
      if (earlier) return replay(db, earlier, fingerprint!);
    }
    throw error;
  }
  await utteranceQueue().send({ kind: 'utterance', utteranceId: id }, { delayMs: settleInMs });
  return { utterance: { id, status: 'accepted' }, replayed: false };
}

async function replay(db: Db, earlier: Utterance, fingerprint: string) {
  if (earlier.fingerprint !== fingerprint) throw idempotencyKeyReused();
  // Its job may have been lost with the process that accepted it (in AWS, between the row and SendMessage),
  // or be waiting out a dead worker's visibility timeout: queue it again; a duplicate delivery is harmless.
  if (earlier.status === 'accepted' || earlier.status === 'processing')
    await utteranceQueue().send({ kind: 'utterance', utteranceId: earlier.id });
  return { utterance: earlier, replayed: true };
}

const accepted = (utterance: Pick<Utterance, 'id' | 'status'>) => ({
  utterance_id: utterance.id,
  status: utterance.status,
});

/** The whole register flow: accept, then (synchronous callers) wait for the outcome. */
export async function registerUtterance(db: Db, request: RegisterRequest): Promise<RegisterAnswer> {
  const { utterance, replayed } = await accept(db, request);
  if (request.async)
    return { statusCode: 202, body: accepted(utterance), replayed, utteranceId: utterance.id };
  const outcome = await awaitOutcome(db, utterance.id, config().pipeline.syncWaitMs);
  if (!outcome)
    // Still settling or processing (the model is slow): the caller can follow it on GET P/utterances/{id}.
    return {
      statusCode: 202,
      body: accepted((await findUtteranceById(db, utterance.id)) ?? utterance),
      replayed,
      utteranceId: utterance.id,
    };
  if (outcome.status === 'failed') throw failureOf(outcome);
  return {
    statusCode: outcome.answer_status as 200 | 201,
    body: outcome.answer_body,
    replayed,
    utteranceId: utterance.id,
  };
}

export interface UploadRegistration {
  networkId: string;
  uploadId: string;
  /** The client named by the request (form, query or realtime session): it must be the upload's. */
  clientId?: string;
  capturedAt?: Date;
  transcript?: string;
}

/** Uploads are registered once: the utterance's Idempotency-Key is the upload's id. */
const uploadKeyOf = (uploadId: string) => `upload:${uploadId}`;

/**
 * `POST P/interactions/register {upload_id}`: an upload of `POST P/uploads` (functions/interactions/
 * uploads.ts) whose bytes were PUT to storage goes through the same accept as an upload in the body
 * (measure, settle, enqueue) and is answered 202 `{utterance_id, status}`. Registering it again answers the
 * same utterance, whatever became of the upload's object since (the worker deletes it once processed).
 */
export async function registerUpload(db: Db, registration: UploadRegistration): Promise<RegisterAnswer> {
  const { networkId, uploadId } = registration;
  const upload = await findAudioUpload(db, networkId, uploadId);
  if (!upload) throw httpError('UPLOAD_NOT_FOUND');
  if (registration.clientId !== undefined && registration.clientId !== upload.client_id)
    throw validationError(`Upload ${uploadId} was asked for client ${upload.client_id}`, [
      { path: 'body.client_id', message: `must be ${upload.client_id}, the upload's client` },
    ]);
  const idempotencyKey = uploadKeyOf(uploadId);
  const fingerprint = requestFingerprint('POST /interactions/register upload', uploadId);
  const earlier = await findUtteranceByKey(db, networkId, idempotencyKey);
  const answer = (utterance: Pick<Utterance, 'id' | 'status'>, replayed: boolean): RegisterAnswer => ({
    statusCode: 202,
    body: accepted(utterance),
    replayed,
    utteranceId: utterance.id,
  });
  if (earlier) return answer((await replay(db, earlier, fingerprint)).utterance, true);
  const audio = await audioStorage().get(upload.audio_key);
  if (!audio)
    throw httpError(
      'UPLOAD_INCOMPLETE',
      upload.expires_at.getTime() < Date.now()
        ? `Nothing was uploaded before the upload URL expired (${upload.expires_at.toISOString()}); ask POST P/uploads again`
        : undefined,
    );
  const { utterance, replayed } = await accept(db, {
    networkId,
    clientId: upload.client_id,
    audio,
    // The bytes say what they are (WAV, MP3, FLAC; anything else is taken as raw PCM16).
    rawPcm16: false,
    capturedAt: registration.capturedAt ?? upload.captured_at ?? undefined,
    transcript: registration.transcript,
    idempotencyKey,
    fingerprint,
    maxBytes: config().pipeline.uploadMaxBytes,
    maxSeconds: UPLOAD_MAX_SECONDS,
    storedAudioKey: upload.audio_key,
  });
  return answer(utterance, replayed);
}

/** A failed copy's recorded error, as the HttpError the caller would have got from the old pipeline. */
function failureOf(utterance: Utterance): HttpError {
  const code = utterance.error_code ?? 'INTERNAL_ERROR';
  return isErrorCode(code)
    ? httpError(code, utterance.error_detail ?? undefined)
    : httpError('INTERNAL_ERROR', 'Internal server error');
}

/**
 * Waits until the copy has its outcome (stored and answered, dropped or failed), polling its row: the
 * worker may be another process (a Lambda). Undefined when `timeoutMs` ran out first.
 */
export async function awaitOutcome(db: Db, id: string, timeoutMs: number): Promise<Utterance | undefined> {
  const deadline = Date.now() + timeoutMs;
  let pause = 10;
  for (;;) {
    const row = await findUtteranceById(db, id);
    if (row && (row.status === 'failed' || (row.answer_status !== null && row.status !== 'processing')))
      return row;
    if (Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, Math.max(1, deadline - Date.now()))));
    pause = Math.min(100, pause * 1.5);
  }
}

export interface BatchPart {
  audio: Uint8Array;
  capturedAt: Date;
  transcript?: string;
}

/**
 * `POST P/interactions/batch`: recordings a device made while offline. Every part is checked before any
 * is accepted (a bad part refuses the batch, naming it; nothing is half-accepted); then each is recorded
 * as a copy that needs no settle window (the other devices' copies, if any, arrived long ago: it is
 * deduplicated against them) and ONE job processes the batch in capture order.
 */
export async function acceptBatch(
  db: Db,
  networkId: string,
  clientId: string,
  parts: BatchPart[],
): Promise<{
  batch_id: string;
  utterances: Array<{ utterance_id: string; captured_at: string; status: string }>;
}> {
  const network = await admit(
    db,
    networkId,
    clientId,
    parts.every((p) => Boolean(p.transcript)),
  );
  const measured: Array<BatchPart & { score: number; vad: ReturnType<typeof measuredSegments> }> = [];
  for (const [index, part] of parts.entries()) {
    try {
      const { analysis, score } = await measure(db, {
        networkId,
        clientId,
        audio: part.audio,
        rawPcm16: false,
      });
      measured.push({ ...part, score, vad: measuredSegments(analysis, part.audio) });
    } catch (error) {
      if (error instanceof HttpError)
        throw httpError(error.code, `Part ${index} (audio_${index}): ${error.message}`);
      throw error;
    }
  }
  countMetric('UtterancesReceived', parts.length);
  const batchId = randomUUID();
  const accepted: Array<{ utterance_id: string; captured_at: string; status: string }> = [];
  for (const part of measured) {
    const id = randomUUID();
    const audioKey = `${networkId}/${id}`;
    await audioStorage().put(audioKey, part.audio);
    await insertUtterance(db, {
      id,
      audioKey,
      networkId,
      clientId,
      capturedAt: part.capturedAt,
      score: part.score,
      settleMs: settleMsOf(network),
      settles: false,
      rawPcm16: false,
      transcript: part.transcript ?? null,
      idempotencyKey: null,
      fingerprint: null,
      batchId,
      vad: part.vad,
    });
    accepted.push({ utterance_id: id, captured_at: part.capturedAt.toISOString(), status: 'accepted' });
  }
  await utteranceQueue().send({ kind: 'batch', batchId });
  return { batch_id: batchId, utterances: accepted };
}

/** Batch parts are named `audio_0`, `captured_at_0`, `transcript_0`, ...: a form keeps one value per name. */
export const MAX_BATCH_PARTS = 10;

export const batchFieldError = (detail: string, path: string) =>
  validationError(detail, [{ path, message: detail }]);
