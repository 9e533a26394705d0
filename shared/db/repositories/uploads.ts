import type { Executor } from '../transaction';
import type { AudioUpload } from '../types';

/** `audio_uploads` (migration 2026_12_02_0012): the upload URLs `POST P/uploads` handed out. */
export interface NewAudioUpload {
  id: string;
  networkId: string;
  clientId: string;
  audioKey: string;
  contentType: string;
  sizeBytes: number;
  capturedAt: Date | null;
  tokenHash: string | null;
  expiresAt: Date;
}

export async function insertAudioUpload(db: Executor, input: NewAudioUpload): Promise<AudioUpload> {
  return db
    .insertInto('audio_uploads')
    .values({
      id: input.id,
      network_id: input.networkId,
      client_id: input.clientId,
      audio_key: input.audioKey,
      content_type: input.contentType,
      size_bytes: input.sizeBytes,
      captured_at: input.capturedAt,
      token_hash: input.tokenHash,
      expires_at: input.expiresAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** An upload of this network: another network's id is not found, like an unknown one. */
export async function findAudioUpload(
  db: Executor,
  networkId: string,
  id: string,
): Promise<AudioUpload | undefined> {
  return db
    .selectFrom('audio_uploads')
    .selectAll()
    .where('network_id', '=', networkId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** The local PUT URL names the upload alone (its secret authorises it). */
export async function findAudioUploadById(db: Executor, id: string): Promise<AudioUpload | undefined> {
  return db.selectFrom('audio_uploads').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function markAudioUploadReceived(db: Executor, id: string): Promise<void> {
  await db.updateTable('audio_uploads').set({ received_at: new Date() }).where('id', '=', id).execute();
}
