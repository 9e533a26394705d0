import type { z } from 'zod';
import { deletePerson, findPerson, listPersons } from '../../shared/db/repositories/persons';
import { created, defineRoute, ok, type RouteDefinition } from '../../shared/http/route';
import {
  createPersonBody,
  deletedPersonSchema,
  personListSchema,
  personParams,
  personSchema,
  personUpdatedSchema,
  mergeProposalListSchema,
  personVoiceBody,
  reclusterSchema,
  speakerSettingsBody,
  speakerSettingsSchema,
  toPerson,
  updatePersonBody,
} from './schemas';
import {
  addPerson,
  enrolVoiceSample,
  mergeProposals,
  reclusterNetwork,
  speakerSettings,
  updatePerson,
  updateSpeakerSettings,
  type PersonUpdate,
} from './service';
import { personNotFound, type ErrorCode } from '../../shared/errors';

const tag = 'Persons';

const voiceErrors: ErrorCode[] = [
  'PERSON_NOT_FOUND',
  'EMPTY_AUDIO',
  'AUDIO_TOO_LARGE',
  'AUDIO_TOO_LONG',
  'UNSUPPORTED_AUDIO_FORMAT',
  'NO_SPEECH',
  'AUDIO_TOO_SHORT',
  'CORRUPT_AUDIO',
  'VOICE_TEXT_MISMATCH',
  'VOICE_SAMPLE_NOT_SPEECH',
  'TRANSCRIPTION_FAILED',
  'TRANSCRIPTION_UNAVAILABLE',
];

/** The multipart or JSON body of PATCH and POST .../update, as the service's update. */
const update = (body: z.infer<typeof updatePersonBody> | undefined): PersonUpdate => ({
  audio: body?.audio,
  expectedText: body?.expected_text,
  name: body?.name,
});

const list = (path: string) =>
  defineRoute({
    method: 'GET',
    path,
    scope: 'scoped',
    tag,
    summary: 'All persons of the network, by index',
    responses: { 200: { description: 'The persons', schema: personListSchema } },
    handler: async ({ db, networkId }) => ok((await listPersons(db, networkId)).map(toPerson)),
  });

export const personRoutes: RouteDefinition[] = [
  list('/persons'),
  list('/persons/all'),
  defineRoute({
    method: 'GET',
    path: '/persons/speaker-settings',
    scope: 'scoped',
    tag,
    summary:
      "How speakers are decided in this network: the model card's calibration, the network's overrides, the values in use",
    responses: { 200: { description: 'The speaker decision settings', schema: speakerSettingsSchema } },
    errors: ['NETWORK_NOT_FOUND'],
    handler: async ({ db, networkId }) => ok(await speakerSettings(db, networkId)),
  }),
  defineRoute({
    method: 'PATCH',
    path: '/persons/speaker-settings',
    scope: 'scoped',
    tag,
    summary: "Override speaker decision thresholds for this network (null: back to the model card's value)",
    body: speakerSettingsBody,
    responses: { 200: { description: 'The speaker decision settings', schema: speakerSettingsSchema } },
    errors: ['NETWORK_NOT_FOUND'],
    handler: async ({ db, networkId, body }) => ok(await updateSpeakerSettings(db, networkId, body)),
  }),
  defineRoute({
    method: 'POST',
    path: '/persons/recluster',
    scope: 'scoped',
    tag,
    summary:
      'Re-cluster unknown voices now: merge provisional clusters of one voice, propose (never do) merges of persons',
    responses: { 200: { description: 'What changed', schema: reclusterSchema } },
    errors: ['NETWORK_NOT_FOUND'],
    handler: async ({ db, networkId }) => ok(await reclusterNetwork(db, networkId)),
  }),
  defineRoute({
    method: 'GET',
    path: '/persons/merge-proposals',
    scope: 'scoped',
    tag,
    summary: 'Pairs of persons whose voices score as one, best first (Mira never merges persons by itself)',
    responses: { 200: { description: 'The proposals', schema: mergeProposalListSchema } },
    handler: async ({ db, networkId }) => ok(await mergeProposals(db, networkId)),
  }),
  defineRoute({
    method: 'POST',
    path: '/persons',
    scope: 'scoped',
    tag,
    summary: 'Enrol a person before they speak; gets the next index of the network',
    body: createPersonBody,
    idempotency: 'pipeline',
    responses: { 201: { description: 'The new person', schema: personSchema } },
    handler: async ({ db, networkId, body, idempotency }) =>
      created(
        toPerson(
          await addPerson(db, networkId, body.name, (trx, person) =>
            idempotency?.complete ? idempotency.complete(trx, 201, toPerson(person)) : Promise.resolve(),
          ),
        ),
      ),
  }),
  defineRoute({
    method: 'GET',
    path: '/persons/{person_id}',
    scope: 'scoped',
    tag,
    summary: 'One person, with the number of conversations they took part in',
    params: personParams,
    responses: { 200: { description: 'The person', schema: personSchema } },
    errors: ['PERSON_NOT_FOUND'],
    handler: async ({ db, networkId, params }) => {
      const person = await findPerson(db, networkId, params.person_id);
      if (!person) throw personNotFound();
      return ok(toPerson(person));
    },
  }),
  defineRoute({
    method: 'PATCH',
    path: '/persons/{person_id}',
    scope: 'scoped',
    tag,
    summary:
      'Rename a person and/or add a voice sample (JSON `name`, or multipart `name`, `audio`, `expected_text`)',
    params: personParams,
    body: updatePersonBody,
    accepts: ['json', 'multipart'],
    bodyOptional: true,
    responses: { 200: { description: 'The person', schema: personSchema } },
    errors: voiceErrors,
    handler: async (ctx) =>
      ok(toPerson(await updatePerson(ctx.db, ctx.networkId, ctx.params.person_id, update(ctx.body)))),
  }),
  defineRoute({
    method: 'POST',
    path: '/persons/{person_id}/update',
    scope: 'scoped',
    tag,
    summary: 'Same as PATCH, answering with a message',
    params: personParams,
    body: updatePersonBody,
    // Some older clients post the rename as an HTML form.
    accepts: ['json', 'multipart', 'form'],
    bodyOptional: true,
    responses: { 200: { description: 'The person', schema: personUpdatedSchema } },
    errors: voiceErrors,
    handler: async (ctx) =>
      ok({
        message: 'Person updated successfully',
        person: toPerson(await updatePerson(ctx.db, ctx.networkId, ctx.params.person_id, update(ctx.body))),
      }),
  }),
  defineRoute({
    method: 'POST',
    path: '/persons/{person_id}/voice',
    scope: 'scoped',
    tag,
    summary: "Add a voice sample to a person's voiceprint (running mean of the samples' embeddings)",
    params: personParams,
    body: personVoiceBody,
    accepts: ['multipart'],
    responses: { 200: { description: 'The person, has_voice_embedding true', schema: personSchema } },
    errors: voiceErrors,
    handler: async ({ db, networkId, params, body }) =>
      ok(toPerson(await enrolVoiceSample(db, networkId, params.person_id, { audio: body.audio_file }))),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/persons/{person_id}',
    scope: 'scoped',
    tag,
    summary: 'Delete a person; their interactions stay, unattributed',
    params: personParams,
    responses: { 200: { description: 'Deleted', schema: deletedPersonSchema } },
    errors: ['PERSON_NOT_FOUND'],
    handler: async ({ db, networkId, params }) => {
      if (!(await deletePerson(db, networkId, params.person_id))) throw personNotFound();
      return ok({
        message: 'Person deleted successfully',
        deleted_person_id: params.person_id,
        network_id: networkId,
      });
    },
  }),
];
