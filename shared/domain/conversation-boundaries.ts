/**
 * When one utterance belongs to the conversation before it, by the Python backend's time rules:
 * a silence longer than CONVERSATION_GAP_SECONDS starts a new conversation, and so does a different
 * speaker after a silence longer than SPEAKER_CHANGE_GAP_SECONDS.
 */

/** Silence after which any utterance starts a new conversation. */
export const CONVERSATION_GAP_SECONDS = 300;
/** Silence after which a different speaker starts a new conversation. */
export const SPEAKER_CHANGE_GAP_SECONDS = 150;

/** What the rules need to know about the latest conversation of a network. */
export interface OpenConversation {
  lastInteractionAt: Date;
  /** The person who spoke last; null when unknown. */
  lastSpeakerId: string | null;
  /** False once the conversation was closed explicitly. */
  isActive: boolean;
}

export interface Utterance {
  timestamp: Date;
  /** The speaker; null when not recognised. */
  speakerId: string | null;
}

/** Seconds of silence between the conversation's last utterance and this one (negative when it arrives late). */
export const gapSeconds = (conversation: OpenConversation, utterance: Utterance): number =>
  (utterance.timestamp.getTime() - conversation.lastInteractionAt.getTime()) / 1000;

/**
 * Whether `utterance` opens a new conversation rather than continuing `latest`.
 * An unknown speaker never counts as "different": without a voice match there is no evidence of a
 * change, so only the long gap applies. A late utterance (negative gap) joins the conversation.
 */
export function startsNewConversation(latest: OpenConversation | undefined, utterance: Utterance): boolean {
  if (!latest || !latest.isActive) return true;
  const gap = gapSeconds(latest, utterance);
  if (gap > CONVERSATION_GAP_SECONDS) return true;
  const speakerChanged =
    utterance.speakerId !== null &&
    latest.lastSpeakerId !== null &&
    utterance.speakerId !== latest.lastSpeakerId;
  return speakerChanged && gap > SPEAKER_CHANGE_GAP_SECONDS;
}

/**
 * Whether a conversation is still going at `now`: not closed, and its last utterance is recent enough
 * that the next one would join it. Computed on read, so no background job has to close conversations.
 */
export const isConversationActive = (conversation: OpenConversation, now: Date): boolean =>
  conversation.isActive &&
  (now.getTime() - conversation.lastInteractionAt.getTime()) / 1000 <= CONVERSATION_GAP_SECONDS;
