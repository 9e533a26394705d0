/** What the memory suites share: a network's socket whose events the test reads, and memories drawn from words. */
import { afterEach, beforeEach } from 'vitest';
import { insertApiKey } from '../../shared/db/repositories/credentials';
import { upsertMemory } from '../../shared/db/repositories/memories';
import { addRealtimeConnection } from '../../shared/db/repositories/realtime';
import type { Db } from '../../shared/db/client';
import { setLocalRealtimeTransport } from '../../shared/realtime/publisher';

/** A device's open socket (an API key's), so the network's events are sent and can be read by the test. */
export async function openDeviceSocket(db: Db, networkId: string): Promise<void> {
  const key = await insertApiKey(db, {
    networkId,
    name: 'desk',
    prefix: 'mk_test',
    hash: `hash-${networkId}`,
    createdBy: null,
  });
  await addRealtimeConnection(db, {
    connectionId: `c-${networkId}`,
    networkId,
    clientId: 'desk',
    apiKeyId: key.id,
  });
}

/** A proposed fact drawn from one interaction, as a conversation summary stores it. */
export async function memoryFrom(
  db: Db,
  interaction: { id: string; network_id: string; conversation_id: string | null },
  text: string,
  options: { personIds?: string[]; status?: 'proposed' | 'confirmed' } = {},
) {
  const { memory } = await upsertMemory(db, {
    networkId: interaction.network_id,
    conversationId: interaction.conversation_id,
    memoryType: 'fact',
    canonicalText: text,
    actionKind: null,
    participantPersonIds: options.personIds ?? [],
    proposedStartAt: null,
    proposedEndAt: null,
    expiresAt: null,
    confidence: 1,
    provenance: { source: 'conversation', interaction_ids: [interaction.id] },
    transition: {
      from: null,
      to: 'proposed',
      reason: 'test',
      at: new Date().toISOString(),
      source: 'extraction',
    },
    dedupeKey: null,
  });
  if (options.status === 'confirmed')
    await db
      .updateTable('episodic_memories')
      .set({ status: 'confirmed' })
      .where('id', '=', memory.id)
      .execute();
  return memory;
}

/**
 * Every realtime event the network's sockets were sent during each test, in order (the local transport
 * records them instead of sending). One array, emptied before each test.
 */
export function useSentEvents(): any[] {
  const sent: any[] = [];
  beforeEach(() => {
    sent.length = 0;
    setLocalRealtimeTransport({
      send: (_connectionId, message) => {
        sent.push(JSON.parse(message));
        return Promise.resolve('sent');
      },
    });
  });
  afterEach(() => setLocalRealtimeTransport(undefined));
  return sent;
}
