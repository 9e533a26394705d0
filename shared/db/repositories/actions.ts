import { sql } from 'kysely';
import type { Executor } from '../transaction';
import type { Action, ActionOrigin, ActionStatus, ActionType, JsonObject } from '../types';

export interface NewAction {
  networkId: string;
  actionType: ActionType;
  /** The human-readable text; by default the payload's title, text or contact. */
  details?: string | null;
  payload?: JsonObject;
  personId?: string | null;
  interactionId?: string | null;
  conversationId?: string | null;
  scheduledTime?: Date | null;
  origin?: ActionOrigin;
}

/** The text a person reads for an action, from its structured fields. */
export function describeAction(payload: JsonObject): string | null {
  for (const key of ['title', 'text', 'what', 'canonical_text', 'contact']) {
    const value = payload[key];
    if (typeof value === 'string' && value.trim()) return value.trim();
  }
  return null;
}

const actionRow = (action: NewAction) => ({
  network_id: action.networkId,
  action_type: action.actionType,
  details: action.details !== undefined ? action.details : describeAction(action.payload ?? {}),
  payload: JSON.stringify(action.payload ?? {}),
  person_id: action.personId ?? null,
  interaction_id: action.interactionId ?? null,
  conversation_id: action.conversationId ?? null,
  scheduled_time: action.scheduledTime ?? null,
  origin: action.origin ?? null,
});

/** Stores an action drawn from an interaction; references must already be checked to be the network's. */
export const insertAction = (db: Executor, action: NewAction): Promise<Action> =>
  db.insertInto('actions').values(actionRow(action)).returningAll().executeTakeFirstOrThrow();

/**
 * Stores the action inferred from an interaction unless one already is (then undefined): the partial
 * unique index decides, so two concurrent inference calls store one action between them.
 */
export const insertInferredAction = (db: Executor, action: NewAction & { interactionId: string }) =>
  db
    .insertInto('actions')
    .values(actionRow({ ...action, origin: 'inference' }))
    .onConflict((oc) => oc.column('interaction_id').where('origin', '=', 'inference').doNothing())
    .returningAll()
    .executeTakeFirst();

/** The action inferred from an interaction, if any. */
export const findInferredAction = (db: Executor, networkId: string, interactionId: string) =>
  db
    .selectFrom('actions')
    .selectAll()
    .where('network_id', '=', networkId)
    .where('interaction_id', '=', interactionId)
    .where('origin', '=', 'inference')
    .executeTakeFirst();

/** Newest first, optionally by status or by the interaction they came from. */
export const listActions = (
  db: Executor,
  networkId: string,
  filter: { status?: ActionStatus; interactionId?: string } = {},
) => {
  let query = db.selectFrom('actions').selectAll().where('network_id', '=', networkId);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.interactionId) query = query.where('interaction_id', '=', filter.interactionId);
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
};

/** Pending actions of the network, soonest first (unscheduled last); at most `limit`. */
export const listPendingActions = (db: Executor, networkId: string, limit: number) =>
  db
    .selectFrom('actions')
    .select(['id', 'action_type', 'details', 'payload', 'scheduled_time', 'person_id'])
    .where('network_id', '=', networkId)
    .where('status', '=', 'pending')
    .orderBy(sql`scheduled_time ASC NULLS LAST`)
    .orderBy('created_at')
    .limit(limit)
    .execute();

/**
 * Sets an action's status; `completed_time` records when it was done and is cleared if it is reopened.
 * Undefined when the action is not in this network.
 */
export const setActionStatus = (
  db: Executor,
  networkId: string,
  actionId: string,
  status: ActionStatus,
): Promise<Action | undefined> =>
  db
    .updateTable('actions')
    .set({
      status,
      completed_time:
        status === 'done'
          ? sql<Date>`coalesce(completed_time, now())`
          : status === 'pending'
            ? null
            : sql<Date>`completed_time`,
      updated_at: sql<Date>`now()`,
    })
    .where('network_id', '=', networkId)
    .where('id', '=', actionId)
    .returningAll()
    .executeTakeFirst();

export const deleteAction = async (db: Executor, networkId: string, actionId: string): Promise<boolean> => {
  const result = await db
    .deleteFrom('actions')
    .where('network_id', '=', networkId)
    .where('id', '=', actionId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
};
