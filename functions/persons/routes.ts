import {
  createPerson,
  deletePerson,
  findPerson,
  listPersons,
  renamePerson,
} from '../../shared/db/repositories/persons';
import { notFound } from '../../shared/http/errors';
import { created, defineRoute, ok, type RouteDefinition } from '../../shared/http/route';
import {
  createPersonBody,
  deletedPersonSchema,
  personListSchema,
  personParams,
  personSchema,
  toPerson,
  updatePersonBody,
} from './schemas';

const tag = 'Persons';
export const personNotFound = () => notFound('PERSON_NOT_FOUND', 'Person not found in this network');

const list = (path: string) =>
  defineRoute({
    method: 'GET',
    path,
    scope: 'scoped',
    tag,
    summary: 'All persons of the network, by index',
    responses: { 200: { description: 'The persons', schema: personListSchema } },
    handler: async ({ db, networkId }) => ok((await listPersons(db, networkId!)).map(toPerson)),
  });

export const personRoutes: RouteDefinition[] = [
  list('/persons'),
  list('/persons/all'),
  defineRoute({
    method: 'POST',
    path: '/persons',
    scope: 'scoped',
    tag,
    summary: 'Enrol a person before they speak; gets the next index of the network',
    body: createPersonBody,
    responses: { 201: { description: 'The new person', schema: personSchema } },
    handler: async ({ db, networkId, body }) =>
      created(toPerson(await createPerson(db, networkId!, body.name))),
  }),
  defineRoute({
    method: 'GET',
    path: '/persons/{person_id}',
    scope: 'scoped',
    tag,
    summary: 'One person, with the number of conversations they took part in',
    params: personParams,
    responses: { 200: { description: 'The person', schema: personSchema } },
    errors: { 404: 'PERSON_NOT_FOUND' },
    handler: async ({ db, networkId, params }) => {
      const person = await findPerson(db, networkId!, params.person_id);
      if (!person) throw personNotFound();
      return ok(toPerson(person));
    },
  }),
  defineRoute({
    method: 'PATCH',
    path: '/persons/{person_id}',
    scope: 'scoped',
    tag,
    summary: 'Rename a person (JSON or multipart `name`)',
    params: personParams,
    body: updatePersonBody,
    accepts: ['json', 'multipart'],
    bodyOptional: true,
    responses: { 200: { description: 'The person', schema: personSchema } },
    errors: { 404: 'PERSON_NOT_FOUND' },
    handler: async ({ db, networkId, params, body }) => {
      const person = body?.name
        ? await renamePerson(db, networkId!, params.person_id, body.name)
        : await findPerson(db, networkId!, params.person_id);
      if (!person) throw personNotFound();
      return ok(toPerson(person));
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/persons/{person_id}',
    scope: 'scoped',
    tag,
    summary: 'Delete a person; their interactions stay, unattributed',
    params: personParams,
    responses: { 200: { description: 'Deleted', schema: deletedPersonSchema } },
    errors: { 404: 'PERSON_NOT_FOUND' },
    handler: async ({ db, networkId, params }) => {
      if (!(await deletePerson(db, networkId!, params.person_id))) throw personNotFound();
      return ok({
        message: 'Person deleted successfully',
        deleted_person_id: params.person_id,
        network_id: networkId!,
      });
    },
  }),
];
