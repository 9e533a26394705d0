import { isGeminiConfigured } from '../../shared/ai';
import { config } from '../../shared/config';
import type { Db } from '../../shared/db/client';
import { findConversation } from '../../shared/db/repositories/conversations';
import { publishToNetwork } from '../../shared/realtime/publisher';
import { toConversation } from '../conversations/schemas';
import { summarizeQuietly } from '../memories/service';

/** What an utterance did to the network's conversations: the one it started, the one that this ended. */
export interface ConversationChanges {
  createdId?: string;
  endedId?: string;
}

/**
 * Pushes `{event: "conversation", data: Conversation}` for each conversation an utterance ended or
 * started (API.md, "Realtime socket"), ended first, each as GET P/conversations/{id} answers it. After the
 * commit, like every event. An ended conversation is then summarised (its memories extracted), which
 * pushes it again with its summaries; when that fails, the sweep tries again.
 */
export async function announceConversations(
  db: Db,
  networkId: string,
  changes: ConversationChanges,
): Promise<void> {
  for (const id of [changes.endedId, changes.createdId]) {
    if (!id) continue;
    const conversation = await findConversation(db, networkId, id);
    if (conversation)
      await publishToNetwork(db, networkId, { event: 'conversation', data: toConversation(conversation) });
  }
  if (changes.endedId && config().memory.summarizeOnEnd && isGeminiConfigured())
    await summarizeQuietly(db, networkId, changes.endedId);
}
