import type { Migration, MigrationProvider } from 'kysely/migration';
import * as initial from './2026_11_28_0001_initial';
import * as arbitration from './2026_11_28_0003_arbitration';
import * as realtimeConnections from './2026_11_28_0004_realtime_connections';
import * as actionOrigin from './2026_11_28_0005_action_origin';
import * as realtimeSessions from './2026_12_01_0006_realtime_sessions';
import * as refreshGrace from './2026_12_01_0007_refresh_grace';
import * as orphanInteractions from './2026_12_01_0008_orphan_interactions';
import * as actionDetailsText from './2026_12_01_0009_action_details_text';
import * as memories from './2026_12_01_0020_memories';
import * as embeddings from './2026_12_01_0021_embeddings';
import * as utterancesQueue from './2026_12_01_0010_utterances_queue';
import * as speakerEmbeddings from './2026_12_01_0030_speaker_embeddings';
import * as historyIndexes from './2026_12_01_0040_history_indexes';
import * as dropUtteranceClaims from './2026_12_02_0011_drop_utterance_claims';
import * as audioUploads from './2026_12_02_0012_audio_uploads';
import * as utteranceEnrichment from './2026_12_02_0013_utterance_enrichment';
import * as embeddingsChanges from './2026_12_02_0022_embeddings_changes';
import * as speakerPitch from './2026_12_02_0031_speaker_pitch';
import * as utteranceVad from './2026_12_02_0032_utterance_vad';

/**
 * Every migration, by its sortable name. A static map because an esbuild bundle has no migrations folder
 * for Kysely's FileMigrationProvider to read. Add new migrations here; never edit a merged one.
 */
export const migrations: Record<string, Migration> = {
  '2026_11_28_0001_initial': initial,
  '2026_11_28_0003_arbitration': arbitration,
  '2026_11_28_0004_realtime_connections': realtimeConnections,
  '2026_11_28_0005_action_origin': actionOrigin,
  '2026_12_01_0006_realtime_sessions': realtimeSessions,
  '2026_12_01_0007_refresh_grace': refreshGrace,
  '2026_12_01_0008_orphan_interactions': orphanInteractions,
  '2026_12_01_0009_action_details_text': actionDetailsText,
  '2026_12_01_0010_utterances_queue': utterancesQueue,
  '2026_12_01_0020_memories': memories,
  '2026_12_01_0021_embeddings': embeddings,
  '2026_12_01_0030_speaker_embeddings': speakerEmbeddings,
  '2026_12_01_0040_history_indexes': historyIndexes,
  '2026_12_02_0011_drop_utterance_claims': dropUtteranceClaims,
  '2026_12_02_0012_audio_uploads': audioUploads,
  '2026_12_02_0013_utterance_enrichment': utteranceEnrichment,
  '2026_12_02_0022_embeddings_changes': embeddingsChanges,
  '2026_12_02_0031_speaker_pitch': speakerPitch,
  '2026_12_02_0032_utterance_vad': utteranceVad,
};

export const staticMigrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
