import * as z from 'zod';
import { insertAction, listPendingActions as pendingActions } from '../db/repositories/actions';
import { findNetwork, listClients } from '../db/repositories/networks';
import { listPersons } from '../db/repositories/persons';
import type { Executor } from '../db/transaction';
import type { JsonObject } from '../db/types';
import { compareCodeUnits } from '../http/router';
import type { Tool } from './gemini';

/**
 * The command tools, run against Mira's own data. Plain functions taking (db, networkId), so the pipeline
 * may pass its transaction; `networkTools` wraps them as Gemini tools. Every tool is scoped to one network:
 * the model can never name another network.
 */

export const DEFAULT_TIME_ZONE = 'UTC';

const isTimeZone = (zone: unknown): zone is string => {
  if (typeof zone !== 'string' || zone === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};

/** The network's time zone: `settings.timezone` when it is a valid IANA zone, else UTC. */
export async function networkTimeZone(db: Executor, networkId: string): Promise<string> {
  const row = await findNetwork(db, networkId);
  const zone = row?.settings?.timezone;
  return isTimeZone(zone) ? zone : DEFAULT_TIME_ZONE;
}

/** Minutes the zone is ahead of UTC at an instant (Intl's own offset, so DST is right). */
function offsetMinutes(zone: string, at: Date): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  const asUtc = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  return Math.round((asUtc - Math.floor(at.getTime() / 1000) * 1000) / 60_000);
}

const formatOffset = (minutes: number): string => {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
};

/** ISO 8601 local time with the zone's offset, e.g. `2026-11-28T15:04:05+01:00`. */
export function localIso(zone: string, at: Date): string {
  const offset = offsetMinutes(zone, at);
  const local = new Date(at.getTime() + offset * 60_000).toISOString().slice(0, 19);
  return `${local}${formatOffset(offset)}`;
}

/**
 * An ISO date-time from the model: with an offset or `Z` it is absolute; without, it is wall-clock time in
 * the network's zone (what a person saying "at 5 pm" means).
 */
export function parseLocalDateTime(value: string, zone: string): Date | undefined {
  const trimmed = value.trim();
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i.test(trimmed))
    return undefined;
  if (/(Z|[+-]\d{2}:?\d{2})$/i.test(trimmed)) {
    const absolute = new Date(trimmed);
    return Number.isNaN(absolute.getTime()) ? undefined : absolute;
  }
  const wall = new Date(`${trimmed}Z`);
  if (Number.isNaN(wall.getTime())) return undefined;
  // Two passes settle the offset around DST changes.
  let guess = new Date(wall.getTime() - offsetMinutes(zone, wall) * 60_000);
  guess = new Date(wall.getTime() - offsetMinutes(zone, guess) * 60_000);
  return guess;
}

export interface CurrentTime {
  time_zone: string;
  local_time: string;
  utc_time: string;
  weekday: string;
}

export async function currentTime(db: Executor, networkId: string, now = new Date()): Promise<CurrentTime> {
  const zone = await networkTimeZone(db, networkId);
  return {
    time_zone: zone,
    local_time: localIso(zone, now),
    utc_time: now.toISOString(),
    weekday: new Intl.DateTimeFormat('en-US', { timeZone: zone, weekday: 'long' }).format(now),
  };
}

export interface ClientsAndPersons {
  clients: { client_id: string; enabled: boolean; last_seen_at: string }[];
  persons: { id: string; name: string; index: number; is_owner: boolean }[];
}

export async function listClientsAndPersons(db: Executor, networkId: string): Promise<ClientsAndPersons> {
  const [clients, persons] = await Promise.all([listClients(db, networkId), listPersons(db, networkId)]);
  return {
    clients: [...clients]
      .sort((a, b) => compareCodeUnits(a.client_id, b.client_id))
      .map((c) => ({
        client_id: c.client_id,
        enabled: c.enabled,
        last_seen_at: new Date(c.last_seen_at).toISOString(),
      })),
    persons: persons.map((p) => ({ id: p.id, name: p.name, index: p.index, is_owner: p.index === 1 })),
  };
}

export interface PendingAction {
  id: string;
  action_type: string;
  details: string | null;
  payload: JsonObject;
  scheduled_time: string | null;
  person_id: string | null;
}

/** Pending actions of the network, soonest first (unscheduled last); at most `limit`. */
export async function listPendingActions(
  db: Executor,
  networkId: string,
  limit = 20,
): Promise<PendingAction[]> {
  const rows = await pendingActions(db, networkId, limit);
  return rows.map((r) => ({
    id: r.id,
    action_type: r.action_type,
    details: r.details,
    payload: r.payload,
    scheduled_time: r.scheduled_time ? new Date(r.scheduled_time).toISOString() : null,
    person_id: r.person_id,
  }));
}

/** Where a command came from, recorded on the actions it creates. */
export interface CommandOrigin {
  personId?: string | null;
  interactionId?: string | null;
  conversationId?: string | null;
}

export interface ReminderInput {
  text: string;
  /** ISO 8601; without an offset it is wall-clock time in the network's zone. */
  scheduled_time: string;
}

export interface CreatedReminder {
  id: string;
  text: string;
  scheduled_time: string;
  local_time: string;
}

export class ToolInputError extends Error {
  override name = 'ToolInputError';
}

export async function createReminder(
  db: Executor,
  networkId: string,
  input: ReminderInput,
  origin: CommandOrigin = {},
): Promise<CreatedReminder> {
  const text = typeof input.text === 'string' ? input.text.trim() : '';
  if (!text) throw new ToolInputError('text is required');
  const zone = await networkTimeZone(db, networkId);
  const when =
    typeof input.scheduled_time === 'string' ? parseLocalDateTime(input.scheduled_time, zone) : undefined;
  if (!when)
    throw new ToolInputError('scheduled_time must be an ISO 8601 date-time, e.g. 2026-11-28T17:00:00');
  const row = await insertAction(db, {
    networkId,
    personId: origin.personId ?? null,
    interactionId: origin.interactionId ?? null,
    conversationId: origin.conversationId ?? null,
    actionType: 'remind',
    details: text,
    payload: { text, source: 'voice_command' },
    scheduledTime: when,
    origin: 'command',
  });
  const at = new Date(row.scheduled_time!);
  return { id: row.id, text, scheduled_time: at.toISOString(), local_time: localIso(zone, at) };
}

const reminderArgs = z.object({ text: z.string(), scheduled_time: z.string() });

const NO_PARAMETERS = { type: 'object', properties: {} };

/** The tools of one network, ready for `runCommand`. */
export function networkTools(db: Executor, networkId: string, origin: CommandOrigin = {}): Tool[] {
  return [
    {
      name: 'get_current_time',
      description: "The current date and time in the network's time zone.",
      parameters: NO_PARAMETERS,
      execute: () => currentTime(db, networkId),
    },
    {
      name: 'list_clients_and_persons',
      description: "The network's devices (clients) and the people Mira knows; index 1 is the owner.",
      parameters: NO_PARAMETERS,
      execute: () => listClientsAndPersons(db, networkId),
    },
    {
      name: 'list_pending_actions',
      description: 'Pending reminders and other actions, soonest first.',
      parameters: NO_PARAMETERS,
      execute: () => listPendingActions(db, networkId),
    },
    {
      name: 'create_reminder',
      description:
        "Create a reminder. scheduled_time is ISO 8601; without an offset it is local time in the network's time zone (call get_current_time first for relative times).",
      parameters: {
        type: 'object',
        properties: {
          text: { type: 'string', description: 'What to remind about' },
          scheduled_time: { type: 'string', description: 'When, ISO 8601, e.g. 2026-11-28T17:00:00' },
        },
        required: ['text', 'scheduled_time'],
      },
      execute: async (args) => {
        const parsed = reminderArgs.safeParse(args);
        if (!parsed.success) throw new ToolInputError('text and scheduled_time (strings) are required');
        return createReminder(db, networkId, parsed.data, origin);
      },
    },
  ];
}
