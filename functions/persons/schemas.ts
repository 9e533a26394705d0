import * as z from 'zod';
import type { PersonView } from '../../shared/db/repositories/persons';
import { uploadedFile } from '../../shared/http/upload';
import { iso, isoTimestamp, uuidParam } from '../../shared/http/validation';

const personExample = {
  id: '3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f',
  network_id: '7d0c3a4e-2f0b-4c55-9a55-2f1f6f3f8a10',
  name: 'Alice',
  index: 1,
  has_voice_embedding: false,
  cluster_id: null,
  conversation_count: 3,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
};

export const personSchema = z
  .object({
    id: z.uuid(),
    network_id: z.uuid(),
    name: z.string(),
    index: z.int().min(1),
    has_voice_embedding: z.boolean(),
    cluster_id: z.string().nullable(),
    conversation_count: z.int().min(0),
    created_at: isoTimestamp,
    updated_at: isoTimestamp,
  })
  .meta({ id: 'Person', example: personExample });

export const personListSchema = z.array(personSchema).meta({ example: [personExample] });

export const personParams = z.object({ person_id: uuidParam });

const personName = z.string().trim().min(1).max(200);

export const createPersonBody = z
  .object({ name: personName })
  .meta({ id: 'PersonCreate', example: { name: 'Alice' } });

const expectedText = z
  .string()
  .trim()
  .min(1)
  .max(1000)
  .meta({
    description:
      'What the person says in `audio`. When the server has a Gemini key, a sample whose transcript does not ' +
      'match it is refused (422 VOICE_TEXT_MISMATCH); without one it is not checked.',
  });

/**
 * PATCH and POST .../update body, as JSON (`name` only) or multipart. `audio` adds a voice sample to the
 * person's voiceprint; `expected_text` only makes sense with it.
 */
export const updatePersonBody = z
  .object({
    name: personName.optional(),
    audio: uploadedFile('A voice sample (WAV, MP3 or FLAC) of this person').optional(),
    expected_text: expectedText.optional(),
  })
  .refine((body) => !body.expected_text || body.audio, {
    message: 'expected_text needs an audio sample',
    path: ['expected_text'],
  })
  .meta({ id: 'PersonUpdate', example: { name: 'Alice B.' } });

export const personVoiceBody = z
  .object({
    audio_file: uploadedFile('A voice sample (WAV, MP3 or FLAC) of this person'),
    description: z
      .string()
      .max(500)
      .optional()
      .meta({ description: 'Free text about the recording; accepted for older clients, not stored' }),
  })
  .meta({ id: 'PersonVoiceSample' });

export const personUpdatedSchema = z.object({ message: z.string(), person: personSchema }).meta({
  id: 'PersonUpdated',
  example: { message: 'Person updated successfully', person: personExample },
});

export const deletedPersonSchema = z
  .object({ message: z.string(), deleted_person_id: z.uuid(), network_id: z.uuid() })
  .meta({
    id: 'PersonDeleted',
    example: {
      message: 'Person deleted successfully',
      deleted_person_id: personExample.id,
      network_id: personExample.network_id,
    },
  });

export const toPerson = (person: PersonView): z.infer<typeof personSchema> => ({
  id: person.id,
  network_id: person.network_id,
  name: person.name,
  index: person.index,
  has_voice_embedding: person.has_voice_embedding,
  cluster_id: person.cluster_id,
  conversation_count: person.conversation_count,
  created_at: iso(person.created_at)!,
  updated_at: iso(person.updated_at)!,
});

const speakerSettingsFields = {
  speaker_accept_score: z
    .number()
    .describe('A person is attributed from this score (best candidate), on a clean utterance'),
  speaker_degraded_accept_score: z
    .number()
    .describe('The stricter score for a short, noisy or clipped utterance'),
  speaker_min_margin: z
    .number()
    .min(0)
    .describe('Best person minus second-best: below it the speaker stays unknown'),
  speaker_update_score: z
    .number()
    .describe('A clean match adds an embedding to the voiceprint from this score'),
  speaker_cluster_score: z
    .number()
    .describe('An unknown clean voice joins a provisional cluster from this score'),
  speaker_merge_score: z
    .number()
    .describe('Clusters merge, and persons are proposed for merging, from this score'),
  speaker_match_threshold: z
    .number()
    .gt(0)
    .lt(1)
    .describe('Raw cosine below which nothing matches (SPEAKER_MATCH_THRESHOLD for the server)'),
  speaker_min_voiced_seconds: z.number().min(0).max(60).describe('Voiced speech (VAD) a clean utterance has'),
  speaker_min_snr_db: z.number().min(-10).max(60).describe('SNR (dB) a clean utterance has'),
  speaker_max_clipping_ratio: z
    .number()
    .min(0)
    .max(1)
    .describe('Share of clipped samples a clean utterance stays under'),
  speaker_min_high_band_ratio: z
    .number()
    .min(0)
    .max(1)
    .describe('Share of speech power above 4 kHz a clean utterance has (below: narrowband, e.g. telephone)'),
  speaker_max_pitch_semitones: z
    .number()
    .min(0)
    .max(48)
    .describe(
      "Semitones between an utterance's median pitch and a person's above which the person is not named (48: off)",
    ),
  speaker_enrol_min_voiced_seconds: z
    .number()
    .min(0.5)
    .max(60)
    .describe('Voiced speech an enrolment sample needs'),
  speaker_new_person_seconds: z
    .number()
    .min(0)
    .max(600)
    .describe('Confident speech a cluster needs to become a person'),
  speaker_new_person_utterances: z.int().min(2).max(100).describe('...across at least this many utterances'),
};

/** PATCH body: each field sets the network's override, null removes it (back to the model card's value). */
export const speakerSettingsBody = z
  .object(
    Object.fromEntries(
      Object.entries(speakerSettingsFields).map(([k, v]) => [k, v.nullable().optional()]),
    ) as {
      [K in keyof typeof speakerSettingsFields]: z.ZodOptional<
        z.ZodNullable<(typeof speakerSettingsFields)[K]>
      >;
    },
  )
  .strict()
  .meta({ id: 'SpeakerSettingsUpdate', example: { speaker_accept_score: 3, speaker_min_snr_db: null } });

export const speakerSettingsSchema = z
  .object({
    model: z.string().describe('The speaker model file in use'),
    score: z
      .enum(['as-norm', 'cosine'])
      .describe("as-norm with the model card's impostor cohort, else raw cosine"),
    calibrated: z.boolean().describe('Whether the model has a card beside it'),
    effective: z.object(speakerSettingsFields).describe('The values decisions use now'),
    model_defaults: z.object(speakerSettingsFields).describe("The model card's values"),
    overrides: z.record(z.string(), z.number()).describe("This network's settings that differ from the card"),
    persons_to_re_enrol: z
      .array(z.uuid())
      .describe(
        'Persons whose voiceprint was made by another speaker model (before a model switch): they are not recognised, and no new person is made from unknown voices, until they enrol again (PATCH P/persons/{id} with audio, or POST P/persons/{id}/voice)',
      ),
  })
  .meta({ id: 'SpeakerSettings' });

export const reclusterSchema = z
  .object({
    merged_clusters: z.int().min(0),
    pruned_clusters: z.int().min(0),
    proposals: z.int().min(0),
    open_clusters: z.int().min(0),
  })
  .meta({
    id: 'ReclusterResult',
    example: { merged_clusters: 1, pruned_clusters: 0, proposals: 0, open_clusters: 2 },
  });

export const mergeProposalListSchema = z
  .array(
    z.object({
      person_ids: z.tuple([z.uuid(), z.uuid()]),
      score: z.number(),
      created_at: isoTimestamp,
    }),
  )
  .meta({ id: 'MergeProposals' });
