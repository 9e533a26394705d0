import { describe, expect, it } from 'vitest';
import {
  addParticipant,
  assignConversation,
  deleteConversation,
} from '../../shared/db/repositories/conversations';
import { createNetwork } from '../../shared/db/repositories/networks';
import { createPerson, findPerson, listPersons } from '../../shared/db/repositories/persons';
import { useTestDatabase } from '../helpers/db';

const database = useTestDatabase();

/**
 * A person's conversation count is a column kept by the database (migration 0040) instead of a count(*)
 * per person listed: it must agree with the participants whatever changes them.
 */
describe("a person's conversation count", () => {
  it('follows the conversations they join, a repeated join, and a deleted conversation', async () => {
    const { db } = database;
    const network = await createNetwork(db, 'Home');
    const ann = await createPerson(db, network.id, 'Ann');
    const bob = await createPerson(db, network.id, 'Bob');
    expect(ann.conversation_count).toBe(0);
    const morning = new Date(Date.UTC(2026, 0, 1, 9));
    const first = await assignConversation(db, {
      networkId: network.id,
      personId: ann.id,
      timestamp: morning,
    });
    await assignConversation(db, {
      networkId: network.id,
      personId: ann.id,
      timestamp: new Date(morning.getTime() + 10_000),
    });
    await addParticipant(db, first.conversationId, bob.id, morning);
    // Hours later: a new conversation.
    const second = await assignConversation(db, {
      networkId: network.id,
      personId: ann.id,
      timestamp: new Date(morning.getTime() + 6 * 3600_000),
    });
    expect(second.created).toBe(true);
    const counts = async () =>
      Object.fromEntries((await listPersons(db, network.id)).map((p) => [p.name, p.conversation_count]));
    expect(await counts()).toEqual({ Ann: 2, Bob: 1 });
    await deleteConversation(db, network.id, first.conversationId);
    expect(await counts()).toEqual({ Ann: 1, Bob: 0 });
    expect((await findPerson(db, network.id, ann.id))!.conversation_count).toBe(1);
  });
});
