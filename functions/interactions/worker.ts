/**
 * The register worker: what happens to an accepted copy once its settle window has closed.
 *
 *   decide (best copy of the group wins, in PostgreSQL) -> winner only: audio from storage -> analyse
 *   (with the speaker model) -> ONE Gemini call (transcribe and enrich; none with the client's transcript)
 *   -> one storing transaction (copy final, speaker, conversation, interaction, answer) -> events, command
 *
 * Losers make no model call. Deliveries are at least once (SQS, or the local queue after a crash): the
 * decision is idempotent by utterance id, a lease keeps two deliveries from calling the model at once, and
 * the storing transaction starts by moving the copy `processing` -> `stored` (a second delivery rolls
 * back). A transient failure releases the lease and is retried with backoff; the last attempt marks the
 * copy failed, sends the `error` event and keeps nothing (the transaction rolled back).
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { transcribeAndEnrich, type Enrichment } from '../../shared/ai';
import { analyzeAudio, type AudioAnalysis } from '../../shared/audio';
import { speechOnly } from '../../shared/audio/speaker';
import type { SpeechSegment } from '../../shared/audio/vad';
import { config } from '../../shared/config';
import { getDb, type Db } from '../../shared/db/client';
import { listActions } from '../../shared/db/repositories/actions';
import { assignConversation, joinConversation } from '../../shared/db/repositories/conversations';
import { findInteraction, insertInteraction } from '../../shared/db/repositories/interactions';
import { findNetwork } from '../../shared/db/repositories/networks';
import {
  appendHeardBy,
  decideUtterance,
  findUtteranceById,
  heardBy,
  linkUtteranceInteraction,
  listBatch,
  markFailed,
  markStored,
  recordAnswer,
  listBeaten,
  releaseLease,
  replaceInteractionCopy,
  reviveRunnerUp,
  saveEnrichment,
  type Rival,
} from '../../shared/db/repositories/utterances';
import { inTransaction } from '../../shared/db/transaction';
import type { JsonObject, Utterance } from '../../shared/db/types';
import {
  detectWakeWord,
  mayWake,
  wakeWordSettings,
  type WakeWordMatch,
  type WakeWordSettings,
} from '../../shared/domain/wake-word';
import { HttpError, noSpeech } from '../../shared/errors';
import { countMetric, logger, metrics, MetricUnit } from '../../shared/observability';
import { LocalWorker, sqsQueue, type Delivery, type JobOutcome, type JobQueue } from '../../shared/queue';
import { publishToNetwork } from '../../shared/realtime/publisher';
import { audioStorage } from '../../shared/storage';
import { toAction } from '../actions/schemas';
import { resolveSpeaker, speakerEvidence, speakerPolicy } from '../persons/service';
import { answerCommand } from './commands';
import { announceConversations, type ConversationChanges } from './conversation-events';
import { utteranceMetadata } from './metadata';
import { BETTER_STREAM_MESSAGE, toInteraction } from './schemas';

export type UtteranceJob = { kind: 'utterance'; utteranceId: string } | { kind: 'batch'; batchId: string };

/** The queue the local server drains in-process (and tests, through the same handlers). */
export const UTTERANCE_QUEUE = 'utterances';

/** Recorded as a command's answer when the delivery that stored it died before the reply. */
const COMMAND_LOST_MESSAGE = 'Sorry, I could not answer that. Please ask again.';

/** Thrown inside the storing transaction when another delivery stored the copy first: rolls back. */
class AlreadyStored extends Error {
  constructor() {
    super('already stored');
  }
}

let localWorker: LocalWorker<UtteranceJob> | undefined;

/** The in-process worker of the local queue (started by the local server; woken by every send). */
export function localUtteranceWorker(): LocalWorker<UtteranceJob> {
  return (localWorker ??= new LocalWorker<UtteranceJob>({
    queue: UTTERANCE_QUEUE,
    db: getDb,
    handler: (delivery) => processJob(delivery),
  }));
}

/** SQS in AWS (UTTERANCE_QUEUE_URL), the PostgreSQL queue and its in-process worker otherwise. */
export function utteranceQueue(): JobQueue<UtteranceJob> {
  const url = config().pipeline.queueUrl;
  return url ? sqsQueue<UtteranceJob>(url) : localUtteranceWorker();
}

export async function processJob(delivery: Delivery<UtteranceJob>, db?: Db): Promise<JobOutcome> {
  const database = db ?? (await getDb());
  const job = delivery.body;
  if (job.kind === 'utterance') return processCopy(database, job.utteranceId, delivery);
  // A batch, in capture order: a part that must wait (or fails, to be retried) holds the later parts back.
  for (const part of await listBatch(database, job.batchId)) {
    const outcome = await processCopy(database, part.id, delivery);
    if (outcome) return outcome;
  }
}

const elapsed = (start: number) => Math.round((performance.now() - start) * 100) / 100;

async function processCopy(db: Db, id: string, delivery: Delivery<unknown>): Promise<JobOutcome> {
  const decision = await decideUtterance(db, id, {
    leaseMs: config().pipeline.visibilityMs,
    droppedMessage: BETTER_STREAM_MESSAGE,
  });
  switch (decision.kind) {
    case 'gone':
      return;
    case 'wait':
      return { retryAfterMs: decision.retryAfterMs };
    case 'final':
      return finishLostCommand(db, decision.utterance);
    case 'dropped':
      countMetric('UtterancesDropped');
      await dropped(db, id, decision.winner);
      return;
    case 'replace':
      return guarded(db, decision.utterance, delivery, () =>
        replaceWinner(db, decision.utterance, decision.stored),
      );
    case 'process':
      return guarded(db, decision.utterance, delivery, () => processWinner(db, decision.utterance));
  }
}

/**
 * A lost copy: a winner already stored learns that this device heard it too. Its audio goes once the
 * winner is stored (here, or by the winner's worker when it stores): until then it may be revived.
 */
async function dropped(db: Db, id: string, winner: Rival) {
  await appendHeardBy(db, id, winner.id).catch((error: unknown) => logger.warn('heard_by', { error }));
  const copy = await findUtteranceById(db, id);
  const winnerNow = await findUtteranceById(db, winner.id);
  if (copy?.audio_key && winnerNow?.status === 'stored') await deleteAudio(copy.audio_key);
}

const deleteAudio = (key: string) =>
  audioStorage()
    .delete(key)
    .catch(() => undefined);

/** Failures of a winner's own audio (gone from storage, undecodable): another copy of it may do. */
const ownAudioFailures = new WeakSet<object>();

/**
 * The winner failed for good on its own audio: the next-best copy of the utterance is processed instead
 * (the user spoke; one device's upload should not lose it). Not after a model failure: the next copy
 * says the same words to the same model, and would only be one more call.
 */
async function processRunnerUp(db: Db, failed: Utterance, error: unknown): Promise<void> {
  if (!(error instanceof Object) || !ownAudioFailures.has(error)) return;
  const next = await reviveRunnerUp(db, failed.id, BETTER_STREAM_MESSAGE);
  if (!next) return;
  countMetric('UtterancesRevived');
  logger.info('utterance revived', { failedId: failed.id, utteranceId: next.id, clientId: next.client_id });
  await utteranceQueue().send({ kind: 'utterance', utteranceId: next.id });
}

/**
 * A stored command whose reply never came (the delivery that stored it died): without an answer the
 * synchronous caller would wait in vain. Another delivery still inside the lease may be replying: wait.
 */
async function finishLostCommand(db: Db, utterance: Utterance): Promise<JobOutcome> {
  if (utterance.status !== 'stored' || utterance.answer_status !== null) return;
  const leaseLeft = utterance.lease_until ? utterance.lease_until.getTime() - Date.now() : 0;
  if (leaseLeft > 0) return { retryAfterMs: leaseLeft };
  await recordAnswer(db, utterance.id, 200, { message: COMMAND_LOST_MESSAGE });
}

/**
 * Runs a winner's work: a client error (no speech after all, unusable audio) fails the copy at once; any
 * other failure is retried until the last attempt, which fails it. Failing sends the `error` event.
 */
async function guarded(db: Db, utterance: Utterance, delivery: Delivery<unknown>, work: () => Promise<void>) {
  try {
    await work();
  } catch (error) {
    if (error instanceof AlreadyStored) return;
    const permanent = error instanceof HttpError && error.status < 500;
    if (!permanent && !delivery.lastAttempt) {
      await releaseLease(db, utterance.id).catch(() => undefined);
      throw error;
    }
    logger.warn('utterance failed', { utteranceId: utterance.id, attempt: delivery.attempt, error });
    countMetric('UtterancesFailed');
    const failure =
      error instanceof HttpError
        ? error
        : new HttpError('INTERNAL_ERROR', 'The utterance could not be processed');
    // The event first: by the time a waiting caller has its answer, the device has been told.
    await publishToNetwork(db, utterance.network_id, {
      event: 'error',
      data: {
        utterance_id: utterance.id,
        client_id: utterance.client_id,
        error_code: failure.code,
        detail: failure.message,
      },
    });
    await markFailed(db, utterance.id, {
      status: failure.status,
      code: failure.code,
      detail: failure.message,
      body: failure.toBody(),
    });
    if (utterance.audio_key) await deleteAudio(utterance.audio_key);
    await processRunnerUp(db, utterance, error);
  }
}

/** The longest recording an upload (`POST P/uploads`) may hold; an upload in the body: the audio package's 60 s. */
export const UPLOAD_MAX_SECONDS = 300;

async function analyseStored(utterance: Utterance): Promise<AudioAnalysis> {
  const bytes = utterance.audio_key ? await audioStorage().get(utterance.audio_key) : undefined;
  if (!bytes) throw new Error(`The audio of utterance ${utterance.id} is no longer stored`);
  // Accept checked the copy against its own bounds (a registered upload's are the larger ones).
  return analyzeAudio(bytes, {
    rawPcm16: utterance.raw_pcm16,
    pcm16Fallback: true,
    maxBytes: Math.max(bytes.length, 1),
    maxSeconds: UPLOAD_MAX_SECONDS,
    vad: storedVad(utterance.vad, bytes),
  });
}

/** The digest the accept stores beside its speech segments (functions/interactions/register.ts). */
export const audioDigest = (audio: Uint8Array) => createHash('sha256').update(audio).digest('base64url');

/**
 * The accept's VAD result from the row, when it is there, well formed and measured on these very bytes
 * (else the VAD runs again).
 */
function storedVad(value: unknown, bytes: Uint8Array): AudioAnalysis['vad'] | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const { segments, speechRatio, sha256 } = value as {
    segments?: unknown;
    speechRatio?: unknown;
    sha256?: unknown;
  };
  if (!Array.isArray(segments) || typeof speechRatio !== 'number') return undefined;
  if (sha256 !== audioDigest(bytes)) return undefined;
  const valid = segments.every(
    (s) =>
      typeof s === 'object' &&
      s !== null &&
      Number.isFinite((s as SpeechSegment).startS) &&
      Number.isFinite((s as SpeechSegment).endS),
  );
  return valid ? { segments: segments as SpeechSegment[], speechRatio } : undefined;
}

async function processWinner(db: Db, utterance: Utterance): Promise<void> {
  const network = await findNetwork(db, utterance.network_id);
  if (!network) return; // deleted meanwhile (its rows went with it)
  const analysis = await analyseStored(utterance).catch((error: unknown) => {
    if (error instanceof Object) ownAudioFailures.add(error);
    throw error;
  });
  // Transcript: the client's own, or ONE Gemini call that transcribes and enriches.
  const { enrichment, source } = await transcript(db, utterance, analysis);
  if (!enrichment.text.trim()) {
    countMetric('NoSpeech');
    throw noSpeech('No intelligible speech was found in the audio');
  }
  const settings = network.settings ?? {};
  const wakeSettings = wakeWordSettings(settings);
  const wake = detectWakeWord(enrichment.text, wakeSettings.wakeWords, wakeSettings.threshold);
  const stored = await storeUtterance(db, utterance, {
    analysis,
    enrichment,
    source,
    wake,
    wakeSettings,
    settings,
  });
  // Stored: neither its audio nor that of the copies it beat (kept for a revival) is needed any more.
  for (const key of [utterance.audio_key, ...(await listBeaten(db, utterance.id)).map((c) => c.audio_key)])
    if (key) await deleteAudio(key);
  await announce(db, utterance, stored);
}

async function transcript(
  db: Db,
  utterance: Utterance,
  analysis: AudioAnalysis,
): Promise<{ enrichment: Enrichment | ClientTranscript; source: 'client' | 'gemini' }> {
  const clientTranscript = utterance.transcript;
  if (clientTranscript) {
    return {
      enrichment: { text: clientTranscript, language: null, entities: [], topics: [], sentiment: null },
      source: 'client',
    };
  }
  if (utterance.enrichment) return { enrichment: utterance.enrichment as Enrichment, source: 'gemini' };
  const start = performance.now();
  try {
    // Speech segments only: less to upload and nothing for the model to hallucinate on.
    const enrichment = await transcribeAndEnrich(speechOnly(analysis.samples, analysis.vad.segments));
    // Kept before anything else can fail: a retry of this delivery (the storing transaction failed, the
    // worker died) stores this answer instead of asking the model again.
    await saveEnrichment(db, utterance.id, enrichment);
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
  analysis: AudioAnalysis;
  enrichment: Enrichment | ClientTranscript;
  source: 'client' | 'gemini';
  wake: WakeWordMatch;
  wakeSettings: WakeWordSettings;
  settings: JsonObject;
}

const heardByMetadata = (copies: Rival[]) =>
  copies.map((c) => ({ client_id: c.client_id, score: c.score, utterance_id: c.id }));

async function storeUtterance(db: Db, utterance: Utterance, input: StoreInput) {
  const { network_id: networkId, client_id: clientId } = utterance;
  const { analysis, enrichment, wake } = input;
  return inTransaction(db, async (trx) => {
    // First: another delivery that stored the copy meanwhile wins; nothing is written twice.
    if (!(await markStored(trx, utterance.id))) throw new AlreadyStored();

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
      timestamp: utterance.captured_at,
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
      timestamp: utterance.captured_at,
      language: enrichment.language,
      sentiment: enrichment.sentiment,
      entities: enrichment.entities,
      topics: enrichment.topics,
      voiceEmbedding: analysis.embedding ? Array.from(analysis.embedding) : null,
      isCommand,
      audioScore: utterance.score,
      idempotencyKey: utterance.idempotency_key,
      metadata: {
        ...utteranceMetadata({
          analysis,
          score: utterance.score,
          transcriptSource: input.source,
          speaker,
          wake,
          isCommand,
        }),
        utterance_id: utterance.id,
        // Every device that heard it, the winner first: the app shows which rooms heard it.
        heard_by: heardByMetadata(await heardBy(trx, utterance.id)),
      },
    });
    await linkUtteranceInteraction(trx, utterance.id, interaction.id);
    // The answer commits with the data. A command's reply comes later: the caller waits for it.
    if (!isCommand) await recordAnswer(trx, utterance.id, 201, toInteraction(interaction));
    return { interaction, speaker, isCommand, command: wake.command || enrichment.text, conversations };
  });
}

type Stored = Awaited<ReturnType<typeof storeUtterance>>;

/**
 * After the commit: metrics, the `interaction` event to every client of the network, and for a command
 * its reply (recorded as the copy's answer), its `command_response` for the device that won (the nearest
 * to the speaker) and the actions its tools made.
 */
async function announce(db: Db, utterance: Utterance, stored: Stored): Promise<void> {
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
  await publishToNetwork(db, networkId, { event: 'interaction', data: interaction });
  await announceConversations(db, networkId, stored.conversations);
  if (!stored.isCommand) return;

  countMetric('WakeWords');
  const message = await answerCommand(db, stored.interaction, stored.speaker, stored.command);
  await publishToNetwork(db, networkId, {
    event: 'command_response',
    data: { interaction_id: stored.interaction.id, message, target_client_id: utterance.client_id },
  });
  await recordAnswer(db, utterance.id, 200, { message });
  for (const action of await listActions(db, networkId, { interactionId: stored.interaction.id })) {
    await publishToNetwork(db, networkId, { event: 'action', data: toAction(action) });
  }
}

/**
 * A copy that arrived after the winner was stored and scores clearly better: it takes over the
 * interaction's audio-derived fields (client, quality, score, voice embedding) without a second
 * transcription, and the network sees the updated interaction.
 */
async function replaceWinner(db: Db, utterance: Utterance, stored: Utterance): Promise<void> {
  const analysis = await analyseStored(utterance);
  const interactionId = stored.interaction_id!;
  const updated = await inTransaction(db, async (trx) => {
    if (!(await markStored(trx, utterance.id))) throw new AlreadyStored();
    const current = await findInteraction(trx, utterance.network_id, interactionId);
    if (!current) return undefined;
    const earlier = current.metadata ?? {};
    // A speaker the worse copy could not tell is decided again from the better audio; a person already
    // decided stays (deciding twice would count one utterance twice in a voiceprint).
    const speaker = current.person_id
      ? undefined
      : await resolveSpeaker(
          trx,
          utterance.network_id,
          speakerEvidence(analysis),
          speakerPolicy((await findNetwork(trx, utterance.network_id))?.settings ?? {}),
        );
    if (speaker?.personId && current.conversation_id)
      await joinConversation(trx, current.conversation_id, {
        networkId: utterance.network_id,
        personId: speaker.personId,
        timestamp: utterance.captured_at,
      });
    const fresh = utteranceMetadata({
      analysis,
      score: utterance.score,
      transcriptSource: (earlier.transcript_source as 'client' | 'gemini') ?? 'gemini',
      speaker: speaker ?? { outcome: 'unknown', personId: null, index: null, name: null },
      wake: { matched: false, score: 0, command: '' },
      isCommand: current.is_command,
    });
    await replaceInteractionCopy(trx, {
      interactionId,
      clientId: utterance.client_id,
      score: utterance.score,
      voiceEmbedding: analysis.embedding ? Array.from(analysis.embedding) : null,
      ...(speaker?.personId ? { personId: speaker.personId } : {}),
      metadata: {
        ...earlier,
        audio: fresh.audio,
        quality: fresh.quality,
        ...(speaker ? { speaker: fresh.speaker } : {}),
        utterance_id: utterance.id,
        replaced_copy: { client_id: current.client_id, utterance_id: stored.id },
        // The new best copy first, then the others (the replaced one included) by score.
        heard_by: heardByMetadata(await heardBy(trx, utterance.id, stored.id)),
      },
    });
    await linkUtteranceInteraction(trx, utterance.id, interactionId);
    const view = (await findInteraction(trx, utterance.network_id, interactionId))!;
    await recordAnswer(trx, utterance.id, 201, toInteraction(view));
    return view;
  });
  if (utterance.audio_key)
    await audioStorage()
      .delete(utterance.audio_key)
      .catch(() => undefined);
  if (!updated) return;
  countMetric('UtterancesReplaced');
  await publishToNetwork(db, utterance.network_id, { event: 'interaction', data: toInteraction(updated) });
}
