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
