import type { ColumnType, Generated, Selectable } from 'kysely';

/** A timestamp column the database fills by default; read as a Date, written as a Date or ISO string. */
type CreatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json<T> = ColumnType<T, string | T | undefined, string | T>;

export type JsonObject = Record<string, unknown>;
export interface Entity {
  text: string;
  label: string;
}

export interface NetworkTable {
  id: Generated<string>;
  name: string;
  service_enabled: Generated<boolean>;
  settings: Json<JsonObject>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export interface NetworkClientTable {
  id: Generated<string>;
  network_id: string;
  client_id: string;
  metadata: Json<JsonObject>;
  local_ip_address: string | null;
  external_ip_address: string | null;
  enabled: Generated<boolean>;
  connected_at: CreatedAt;
  last_seen_at: CreatedAt;
  /** The user who registered it (null: registered by an API key, a legacy client, or before gen 4). */
  user_id: Generated<string | null>;
}

export interface UserTable {
  id: Generated<string>;
  email: string;
  username: string | null;
  password_hash: string | null;
  is_active: Generated<boolean>;
  email_verified: Generated<boolean>;
  google_subject: string | null;
  github_id: string | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export interface NetworkMemberTable {
  network_id: string;
  user_id: string;
  role: 'owner' | 'member';
  created_at: CreatedAt;
}

export interface NetworkApiKeyTable {
  id: Generated<string>;
  network_id: string;
  name: string;
  prefix: string;
  key_hash: string;
  created_by: string | null;
  created_at: CreatedAt;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

export interface RefreshTokenTable {
  jti: string;
  family_id: string;
  user_id: string;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  created_at: CreatedAt;
  /** The pair its rotation issued, sealed with a key derived from this token (the reuse grace). */
  successor: Generated<string | null>;
}

export interface LoginAttemptTable {
  id: Generated<string>;
  throttle_key: string;
  attempted_at: CreatedAt;
}

export interface PersonTable {
  id: Generated<string>;
  network_id: string;
  name: string;
  index: number;
  voice_embedding: number[] | null;
  voice_sample_count: Generated<number>;
  cluster_id: string | null;
  /** Conversations the person took part in, kept by a trigger on conversation_participants (migration 0040). */
  conversation_count: Generated<number>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export interface ConversationTable {
  id: Generated<string>;
  network_id: string;
  title: string | null;
  topic_summary: string | null;
  context_summary: string | null;
  topics: Json<string[]>;
  started_at: CreatedAt;
  ended_at: NullableTimestamp;
  last_interaction_at: CreatedAt;
  last_speaker_id: string | null;
  is_active: Generated<boolean>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
  /** The time of the last utterance the summaries (and memories) cover; null before the first summary. */
  summarized_through: Generated<Date | null>;
  summarized_at: Generated<Date | null>;
}

export interface ConversationParticipantTable {
  conversation_id: string;
  person_id: string;
  joined_at: CreatedAt;
}

export type InteractionType = 'audio' | 'text' | 'system';

export interface InteractionTable {
  id: Generated<string>;
  network_id: string;
  conversation_id: string | null;
  person_id: string | null;
  client_id: string | null;
  interaction_type: InteractionType;
  text: Generated<string>;
  language: string | null;
  timestamp: CreatedAt;
  sentiment: number | null;
  entities: Json<Entity[]>;
  topics: Json<string[]>;
  metadata: Json<JsonObject>;
  voice_embedding: number[] | null;
  is_command: Generated<boolean>;
  audio_score: number | null;
  idempotency_key: string | null;
  created_at: CreatedAt;
}

export interface IdempotencyRecordTable {
  network_id: string;
  idempotency_key: string;
  request_fingerprint: string;
  status_code: number;
  response: Json<unknown> | null;
  created_at: CreatedAt;
}

export type ActionType = 'remind' | 'schedule' | 'contact';
export type ActionStatus = 'pending' | 'confirmed' | 'done' | 'dismissed';

export type ActionOrigin = 'inference' | 'command';

export interface ActionTable {
  id: Generated<string>;
  network_id: string;
  person_id: string | null;
  interaction_id: string | null;
  conversation_id: string | null;
  action_type: ActionType;
  /** What to do, as a person reads it ("Call Anna"); null when there is nothing to say. */
  details: string | null;
  /** The structured fields (title, contact, when it was said...). */
  payload: Json<JsonObject>;
  /** `inference` or `command`; null for rows from before the column. */
  origin: ColumnType<ActionOrigin | null, ActionOrigin | null | undefined, ActionOrigin | null>;
  status: Generated<ActionStatus>;
  scheduled_time: NullableTimestamp;
  completed_time: NullableTimestamp;
  created_at: CreatedAt;
  updated_at: CreatedAt;
  /** The episodic memory this action was made from (unique: one action per memory). */
  memory_id: Generated<string | null>;
}

export interface StreamQualityTable {
  network_id: string;
  client_id: string;
  snr: Generated<number>;
  speech_clarity: Generated<number>;
  volume_level: Generated<number>;
  noise_level: Generated<number>;
  speech_ratio: Generated<number>;
  location: Json<JsonObject> | null;
  rssi: number | null;
  score: Generated<number>;
  sample_count: Generated<number>;
  last_update: CreatedAt;
}

/** An upload URL handed out by `POST P/uploads` (migration 2026_12_02_0012). */
export interface AudioUploadTable {
  id: string;
  network_id: string;
  client_id: string;
  audio_key: string;
  content_type: string;
  size_bytes: number;
  captured_at: NullableTimestamp;
  token_hash: string | null;
  expires_at: Timestamp;
  received_at: NullableTimestamp;
  created_at: CreatedAt;
}

export type UtteranceStatus = 'accepted' | 'processing' | 'stored' | 'dropped' | 'failed';

export interface UtteranceTable {
  id: Generated<string>;
  network_id: string;
  client_id: string;
  captured_at: Timestamp;
  score: number;
  status: Generated<UtteranceStatus>;
  settle_until: Timestamp;
  audio_key: string | null;
  raw_pcm16: Generated<boolean>;
  transcript: string | null;
  winner_id: string | null;
  interaction_id: string | null;
  lease_until: NullableTimestamp;
  attempts: Generated<number>;
  answer_status: number | null;
  answer_body: Json<unknown> | null;
  error_code: string | null;
  error_detail: string | null;
  idempotency_key: string | null;
  fingerprint: string | null;
  batch_id: string | null;
  /** The model's answer, kept once it came (migration 2026_12_02_0013): a retry does not call again. */
  enrichment: Json<JsonObject> | null;
  /** The accept's speech segments, `{segments: [{startS, endS}], speechRatio}` (migration 0032). */
  vad: Json<JsonObject> | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export interface QueueJobTable {
  id: Generated<string>;
  queue: string;
  body: Json<unknown>;
  status: Generated<'queued' | 'dead'>;
  visible_at: CreatedAt;
  attempts: Generated<number>;
  max_attempts: number;
  lock_token: string | null;
  last_error: string | null;
  created_at: CreatedAt;
}

export interface RealtimeConnectionTable {
  connection_id: string;
  network_id: string;
  user_id: string | null;
  api_key_id: string | null;
  client_id: string;
  connected_at: CreatedAt;
  last_seen_at: CreatedAt;
  /** The session its `session_token` names (null for rows from before gen 4). */
  session_id: string | null;
}

export type MemoryType = 'commitment' | 'plan' | 'fact' | 'preference';
export type MemoryStatus = 'proposed' | 'confirmed' | 'cancelled' | 'expired';

/** One change of a memory's status or text: why, and which utterance (or person) made it. */
export interface MemoryTransition {
  from: MemoryStatus | null;
  to: MemoryStatus;
  reason: string;
  at: string;
  interaction_id?: string | null;
  source: 'extraction' | 'conversation' | 'user' | 'expiry' | 'voice_command';
  canonical_text?: string;
}

export interface EpisodicMemoryTable {
  id: Generated<string>;
  network_id: string;
  source_conversation_id: string | null;
  memory_type: MemoryType;
  status: Generated<MemoryStatus>;
  canonical_text: string;
  action_kind: ActionType | null;
  participant_person_ids: Json<string[]>;
  proposed_start_at: NullableTimestamp;
  proposed_end_at: NullableTimestamp;
  expires_at: NullableTimestamp;
  confidence: number | null;
  provenance: Json<JsonObject>;
  transition_history: Json<MemoryTransition[]>;
  dedupe_key: string | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export interface EmbeddingTable {
  id: Generated<string>;
  network_id: string;
  interaction_id: string | null;
  conversation_id: string | null;
  memory_id: string | null;
  content_hash: string;
  model: string;
  /** float32 little-endian, L2-normalised. */
  embedding: Uint8Array;
  created_at: CreatedAt;
}

export interface Database {
  networks: NetworkTable;
  network_clients: NetworkClientTable;
  users: UserTable;
  network_members: NetworkMemberTable;
  network_api_keys: NetworkApiKeyTable;
  refresh_tokens: RefreshTokenTable;
  login_attempts: LoginAttemptTable;
  persons: PersonTable;
  conversations: ConversationTable;
  conversation_participants: ConversationParticipantTable;
  interactions: InteractionTable;
  idempotency_records: IdempotencyRecordTable;
  actions: ActionTable;
  stream_quality: StreamQualityTable;
  utterances: UtteranceTable;
  audio_uploads: AudioUploadTable;
  queue_jobs: QueueJobTable;
  realtime_connections: RealtimeConnectionTable;
  episodic_memories: EpisodicMemoryTable;
  embeddings: EmbeddingTable;
  speaker_clusters: SpeakerClusterTable;
  speaker_embeddings: SpeakerEmbeddingTable;
  speaker_versions: SpeakerVersionTable;
  speaker_merge_proposals: SpeakerMergeProposalTable;
}

/** An unknown voice waiting to become a person (migration 0030). */
export interface SpeakerClusterTable {
  id: Generated<string>;
  network_id: string;
  utterance_count: Generated<number>;
  voiced_seconds: Generated<number>;
  merged_into: string | null;
  person_id: string | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

/** One speaker embedding of a person or a cluster: little-endian float32 bytes. */
export interface SpeakerEmbeddingTable {
  id: Generated<string>;
  network_id: string;
  person_id: string | null;
  cluster_id: string | null;
  source: 'enrolment' | 'match' | 'cluster' | 'legacy';
  embedding: Buffer;
  cohort_mean: Generated<number>;
  cohort_std: Generated<number>;
  voiced_seconds: Generated<number>;
  /** Median F0 of the speech (migration 0031); null where not measured. */
  pitch_hz: number | null;
  created_at: CreatedAt;
}

export interface SpeakerVersionTable {
  network_id: string;
  version: ColumnType<string, string | number, string | number>;
}

export interface SpeakerMergeProposalTable {
  id: Generated<string>;
  network_id: string;
  person_a: string;
  person_b: string;
  score: number;
  created_at: CreatedAt;
}

export type Network = Selectable<NetworkTable>;
export type NetworkClient = Selectable<NetworkClientTable>;
export type User = Selectable<UserTable>;
export type Conversation = Selectable<ConversationTable>;
export type Interaction = Selectable<InteractionTable>;
export type Action = Selectable<ActionTable>;
export type StreamQuality = Selectable<StreamQualityTable>;
export type EpisodicMemory = Selectable<EpisodicMemoryTable>;
export type Utterance = Selectable<UtteranceTable>;
export type AudioUpload = Selectable<AudioUploadTable>;
