import type { Db } from '../../shared/db/client';
import { findUtteranceById } from '../../shared/db/repositories/utterances';
import type { Utterance } from '../../shared/db/types';
import { iso } from '../../shared/http/validation';

/** GET P/utterances/{id}: a dropped copy points at the winner (and its interaction once stored). */
export async function toUtteranceStatus(db: Db, utterance: Utterance) {
  const winner = utterance.winner_id ? await findUtteranceById(db, utterance.winner_id) : undefined;
  return {
    utterance_id: utterance.id,
    status: utterance.status,
    client_id: utterance.client_id,
    captured_at: iso(utterance.captured_at)!,
    score: utterance.score,
    interaction_id: utterance.interaction_id ?? winner?.interaction_id ?? null,
    best_client_id: winner?.client_id ?? null,
    error_code: utterance.error_code,
    detail: utterance.error_detail,
    accepted_at: iso(utterance.created_at)!,
    updated_at: iso(utterance.updated_at)!,
  };
}
