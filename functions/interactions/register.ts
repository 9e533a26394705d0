/**
 * `POST P/interactions/register`: one uploaded utterance, end to end.
 *
 *   validate client -> analyse audio -> stream quality -> VAD gate -> arbitration claim -> transcript
 *   -> one storing transaction (claim final, speaker, conversation, interaction) -> command (outside it)
 *
 * Every write that belongs to the outcome happens in ONE transaction that starts by making the arbitration
 * claim final, so a failure (or a better copy from another client) leaves nothing half-written. The model
 * calls happen outside any transaction: no database connection is held while Gemini thinks. The stream
 * quality update is the exception on purpose: it is a measurement of the client's audio, true whatever
 * becomes of this utterance (the other clients' copies update theirs too).
 *
 * The answer (status and body) is computed here, not in the handler, because `Idempotency-Key` replays
 * must return exactly the first outcome.
 */
import { performance } from 'node:perf_hooks';
import {
  isGeminiConfigured,
  transcribeAndEnrich,
  TranscriptionUnavailableError,
  type Enrichment,
} from '../../shared/ai';
import { analyzeAudio, type AudioAnalysis } from '../../shared/audio';
import { speechOnly } from '../../shared/audio/speaker';
import type { Db } from '../../shared/db/client';
import { listActions } from '../../shared/db/repositories/actions';
import {
  claimUtterance,
  finaliseClaim,
  linkClaimInteraction,
  releaseClaim,
} from '../../shared/db/repositories/arbitration';
import { assignConversation } from '../../shared/db/repositories/conversations';
import { requestFingerprint, withIdempotency } from '../../shared/db/repositories/idempotency';
import { insertInteraction } from '../../shared/db/repositories/interactions';
import { findClient, findNetwork } from '../../shared/db/repositories/networks';
import { inTransaction, type Executor } from '../../shared/db/transaction';
import type { JsonObject } from '../../shared/db/types';
import {
  detectWakeWord,
  mayWake,
  wakeWordSettings,
  type WakeWordMatch,
  type WakeWordSettings,
} from '../../shared/domain/wake-word';
import { clientNotFound, httpError, networkNotFound, noSpeech } from '../../shared/errors';
import { countMetric, logger, metrics, MetricUnit } from '../../shared/observability';
import { publishToNetwork } from '../../shared/realtime/publisher';
import { toAction } from '../actions/schemas';
import { announceConversations, type ConversationChanges } from './conversation-events';
import { resolveSpeaker, speakerEvidence, speakerPolicy } from '../persons/service';
import { measureCopy } from '../streams/service';
import { answerCommand } from './commands';
import { utteranceMetadata } from './metadata';
import { BETTER_STREAM_MESSAGE, toInteraction } from './schemas';

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
}

export interface RegisterAnswer {
  /** 201 with the stored Interaction; 200 with a command's `{message}` or the "better audio streams" answer. */
  statusCode: 200 | 201;
  body: unknown;
  /** True when this is the first outcome of an earlier request with the same Idempotency-Key. */
  replayed: boolean;
}

/** Recorded for an Idempotency-Key while the command runs; replaced by the reply. */
const COMMAND_PENDING_MESSAGE = 'Your command is being answered.';

/** Thrown inside the storing transaction when a better copy took over: rolls back, never escapes. */
class Superseded extends Error {
  constructor(readonly best: { bestClientId: string; bestScore: number }) {
    super('superseded');
  }
}

type Complete = (trx: Executor, statusCode: number, body: unknown) => Promise<void>;

/** The whole register flow, under the request's Idempotency-Key when it has one. */
export async function registerUtterance(db: Db, request: RegisterRequest): Promise<RegisterAnswer> {
  if (!request.idempotencyKey) {
    const answer = await processUtterance(db, request, async () => {});
    return { ...answer, replayed: false };
  }
  const fingerprint = requestFingerprint(
    'POST /interactions/register',
    request.clientId,
    request.capturedAt?.toISOString(),
    request.transcript,
    request.rawPcm16 ? 'pcm16' : 'file',
    request.audio,
  );
  const result = await withIdempotency(
    db,
    { networkId: request.networkId, key: request.idempotencyKey, fingerprint },
    (complete) => processUtterance(db, request, complete),
  );
  return { statusCode: result.statusCode as 200 | 201, body: result.body, replayed: result.replayed };
}

const dropped = (best: { bestClientId: string; bestScore: number }, clientId: string) => ({
  message: BETTER_STREAM_MESSAGE,
  best_client_id: best.bestClientId,
  best_score: best.bestScore,
  current_client_id: clientId,
});

const elapsed = (start: number) => Math.round((performance.now() - start) * 100) / 100;

/**
 * The network and the client (registered in this network) must exist and be listening, and the upload must
 * be transcribable; refused before any audio work.
 */
async function admit(db: Db, request: RegisterRequest) {
  const { networkId, clientId } = request;
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
  countMetric('UtterancesReceived');
  // Fail fast, before any work: without a model and without the client's transcript nothing can be stored.
  if (!request.transcript && !isGeminiConfigured())
    throw new TranscriptionUnavailableError(
      'Transcription is not configured on this server (no GEMINI_API_KEY). Send the `transcript` field ' +
        'with the audio (on-device speech recognition), or try again once transcription is configured.',
    );
  return network;
}

async function processUtterance(
  db: Db,
  request: RegisterRequest,
  complete: Complete,
): Promise<{ statusCode: 200 | 201; body: unknown }> {
  const { networkId, clientId } = request;

  // 1. The network and the client may listen, then the audio.
  const network = await admit(db, request);
  const analysis = await analyzeAudio(request.audio, {
    rawPcm16: request.rawPcm16,
    pcm16Fallback: true,
    maxBytes: request.maxBytes,
    maxSeconds: request.maxSeconds,
  });

  // 2. This copy's stream score (acoustics plus the client's stored location and RSSI), and the client's
  //    running stream quality.
  const { score } = await measureCopy(db, networkId, clientId, analysis.quality);

  // 4 before 3. The VAD gate comes before the claim: a copy without speech must never claim the utterance,
  //    or a silent copy with a higher score could drop the copies that did hear it and then give up.
  if (analysis.vad.segments.length === 0) {
    countMetric('NoSpeech');
    throw noSpeech();
  }

  // 3. Arbitration between the clients that heard the same utterance.
  const capturedAt = request.capturedAt ?? new Date();
  const claim = await claimUtterance(db, { networkId, clientId, capturedAt, score });
  if (claim.outcome === 'dropped') {
    countMetric('UtterancesDropped');
    return { statusCode: 200, body: dropped(claim, clientId) };
  }

  let stored: Stored;
  try {
    // 5. Transcript: the client's own, or one Gemini call that transcribes and enriches.
    const { enrichment, source } = await transcript(request, analysis);
    if (!enrichment.text.trim()) {
      countMetric('NoSpeech');
      throw noSpeech('No intelligible speech was found in the audio');
    }
    const settings = network.settings ?? {};
    const wakeSettings = wakeWordSettings(settings);
    const wake = detectWakeWord(enrichment.text, wakeSettings.wakeWords, wakeSettings.threshold);

    // 6-8. One transaction: claim final, speaker, conversation, interaction (and the idempotent answer).
    stored = await storeUtterance(db, request, complete, {
      claimId: claim.claimId,
      analysis,
      score,
      capturedAt,
      enrichment,
      source,
      wake,
      wakeSettings,
      settings,
    });
  } catch (error) {
    // Abandoned (no speech, a model failure, a rollback): later copies of the utterance may win again.
    await releaseClaim(db, claim.claimId).catch((e: unknown) => logger.warn('releaseClaim failed', { e }));
    if (error instanceof Superseded) {
      countMetric('UtterancesDropped');
      return { statusCode: 200, body: dropped(error.best, clientId) };
    }
    throw error;
  }

  return announce(db, stored, complete);
}

type Stored = Awaited<ReturnType<typeof storeUtterance>>;

/**
 * After the commit: metrics, the `interaction` event to every client of the network, and for a command
 * its reply (recorded as the idempotent answer), its `command_response` and the actions its tools made.
 */
async function announce(
  db: Db,
  stored: Stored,
  complete: Complete,
): Promise<{ statusCode: 200 | 201; body: unknown }> {
  const networkId = stored.interaction.network_id;
  countMetric('UtterancesStored');
  countMetric(
    stored.speaker.outcome === 'matched'
      ? 'SpeakerMatched'
      : stored.speaker.outcome === 'new'
        ? 'SpeakerNew'
        : 'SpeakerUnknown',
  );
  const interaction = toInteraction(stored.interaction);
  // Every client of the network sees what was heard (token-scoped uploaders get only this: a 204).
  await publishToNetwork(db, networkId, { event: 'interaction', data: interaction });
  await announceConversations(db, networkId, stored.conversations);
  if (!stored.isCommand) return { statusCode: 201, body: interaction };

  // 8. The wake word: run the command outside the storing transaction, then record its reply as the answer.
  countMetric('WakeWords');
  const message = await answerCommand(db, stored.interaction, stored.speaker, stored.command);
  await complete(db, 200, { message });
  await publishToNetwork(db, networkId, {
    event: 'command_response',
    data: { interaction_id: stored.interaction.id, message },
  });
  // Reminders and the like the command's tools created.
  for (const action of await listActions(db, networkId, { interactionId: stored.interaction.id })) {
    await publishToNetwork(db, networkId, { event: 'action', data: toAction(action) });
  }
  return { statusCode: 200, body: { message } };
}

async function transcript(
  request: RegisterRequest,
  analysis: AudioAnalysis,
): Promise<{ enrichment: Enrichment | ClientTranscript; source: 'client' | 'gemini' }> {
  if (request.transcript) {
    return {
      enrichment: { text: request.transcript, language: null, entities: [], topics: [], sentiment: null },
      source: 'client',
    };
  }
  const start = performance.now();
  try {
    // Speech segments only: less to upload and nothing for the model to hallucinate on.
    const enrichment = await transcribeAndEnrich(speechOnly(analysis.samples, analysis.vad.segments));
    return { enrichment, source: 'gemini' };
  } finally {
    metrics.addMetric('GeminiTranscriptionLatency', MetricUnit.Milliseconds, elapsed(start));
  }
}

interface ClientTranscript {
  text: string;
  language: null;
  entities: [];
  topics: [];
  sentiment: null;
}

interface StoreInput {
  claimId: string;
  analysis: AudioAnalysis;
  score: number;
  capturedAt: Date;
  enrichment: Enrichment | ClientTranscript;
  source: 'client' | 'gemini';
  wake: WakeWordMatch;
  wakeSettings: WakeWordSettings;
  settings: JsonObject;
}

async function storeUtterance(db: Db, request: RegisterRequest, complete: Complete, input: StoreInput) {
  const { networkId, clientId } = request;
  const { analysis, enrichment, wake } = input;
  return inTransaction(db, async (trx) => {
    // First: a claim superseded by a better copy meanwhile cannot be finalised; nothing is written then.
    const final = await finaliseClaim(trx, input.claimId);
    if (final.outcome === 'superseded') throw new Superseded(final);

    const speaker = await resolveSpeaker(
      trx,
      networkId,
      speakerEvidence(analysis),
      speakerPolicy(input.settings),
    );
    const isCommand = wake.matched && mayWake(speaker.index, input.wakeSettings.speakers);
    if (wake.matched && !isCommand) countMetric('WakeWordsIgnored');

    const placed = await assignConversation(trx, {
      networkId,
      personId: speaker.personId,
      timestamp: input.capturedAt,
      topics: enrichment.topics,
    });
    const conversationId = placed.conversationId;
    const conversations: ConversationChanges = {
      createdId: placed.created ? conversationId : undefined,
      endedId: placed.endedId,
    };
    const interaction = await insertInteraction(trx, {
      networkId,
      conversationId,
      personId: speaker.personId,
      clientId,
      interactionType: 'audio',
      text: enrichment.text,
      timestamp: input.capturedAt,
      language: enrichment.language,
      sentiment: enrichment.sentiment,
      entities: enrichment.entities,
      topics: enrichment.topics,
      voiceEmbedding: analysis.embedding ? Array.from(analysis.embedding) : null,
      isCommand,
      audioScore: input.score,
      idempotencyKey: request.idempotencyKey ?? null,
      metadata: utteranceMetadata({
        analysis,
        score: input.score,
        transcriptSource: input.source,
        speaker,
        wake,
        isCommand,
      }),
    });
    await linkClaimInteraction(trx, input.claimId, interaction.id);
    // The answer commits with the data. A command's reply comes later; until then a retry sees "pending".
    if (isCommand) await complete(trx, 200, { message: COMMAND_PENDING_MESSAGE });
    else await complete(trx, 201, toInteraction(interaction));
    return { interaction, speaker, isCommand, command: wake.command || enrichment.text, conversations };
  });
}
