import * as z from 'zod';
import type { Db } from '../../shared/db/client';
import {
  EXPORT_SECTIONS,
  exportRows,
  type ExportPosition,
  type ExportSection,
} from '../../shared/db/repositories/export';
import { findNetwork, listClients } from '../../shared/db/repositories/networks';
import { listPersons } from '../../shared/db/repositories/persons';
import { networkNotFound } from '../../shared/errors';
import { cursorToken } from '../../shared/http/validation';
import { actionSchema, toAction } from '../actions/schemas';
import { conversationSchema, toConversation } from '../conversations/schemas';
import { interactionSchema, toInteraction } from '../interactions/schemas';
import { personSchema, toPerson } from '../persons/schemas';
import { networkSchema, toNetwork } from '../service/schemas';
import { memorySchema, toMemory } from './schemas';

/**
 * `GET P/export`: everything a network holds, in pages. Why pages and not one streamed document: the API
 * answers through API Gateway and a synchronous Lambda, whose response is at most 6 MB, and a home's
 * history is larger than that after a few months. A page is bounded by rows and by bytes, each kind of
 * record is read by keyset (the last page costs what the first does), and a broken download resumes from
 * its last cursor. Locally and in AWS it is the same route with the same answer; `npm run export`
 * follows the cursors into one JSON file, which is what someone asking for their data expects.
 */
export const EXPORT_FORMAT = 'mira-export/1';
/** Well under Lambda's 6 MB response, with room for the JSON around the records. */
const PAGE_BYTES = 4 * 1024 * 1024;
/** Rows read from the database per query while a page fills. */
const BATCH = 200;

interface ExportCursor {
  section: ExportSection;
  after?: ExportPosition;
}

const cursorShape = z.object({
  s: z.enum(EXPORT_SECTIONS as [ExportSection, ...ExportSection[]]),
  at: z.iso.datetime({ precision: 6 }).optional(),
  id: z.uuid().optional(),
});

const encodeCursor = (cursor: ExportCursor) =>
  Buffer.from(JSON.stringify({ s: cursor.section, ...cursor.after }), 'utf8').toString('base64url');

/** The position a cursor stands for; undefined for anything this server did not hand out. */
function decodeCursor(token: string): ExportCursor | undefined {
  try {
    const parsed = cursorShape.safeParse(JSON.parse(Buffer.from(token, 'base64url').toString('utf8')));
    if (!parsed.success || !parsed.data.at !== !parsed.data.id) return undefined;
    const { s, at, id } = parsed.data;
    return { section: s, ...(at && id ? { after: { at, id } } : {}) };
  } catch {
    return undefined;
  }
}

export const exportQuery = z.object({
  cursor: cursorToken(400, decodeCursor)
    .optional()
    .meta({ description: 'The `next_cursor` of the previous page; without it, the first page' }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(5000)
    .default(1000)
    .meta({ description: 'Records per page at most (a page also stops near 4 MB)' }),
});

export const exportPageSchema = z
  .object({
    format: z.literal(EXPORT_FORMAT),
    exported_at: z.string(),
    network: networkSchema
      .optional()
      .meta({ description: 'First page only: the network with its settings and clients' }),
    persons: z
      .array(personSchema)
      .optional()
      .meta({ description: 'First page only: every person (never a voice embedding)' }),
    conversations: z.array(conversationSchema),
    interactions: z.array(interactionSchema),
    memories: z.array(memorySchema),
    actions: z.array(actionSchema),
    next_cursor: z
      .string()
      .nullable()
      .meta({ description: 'Ask again with `cursor=` this until it is null: then the export is complete' }),
  })
  .meta({ id: 'ExportPage' });

export type ExportPage = z.infer<typeof exportPageSchema>;

const convert = {
  conversations: toConversation,
  interactions: toInteraction,
  memories: toMemory,
  actions: toAction,
} as const;

/** One page of the export: the network and persons first, then each section newest first. */
export async function exportPage(
  db: Db,
  networkId: string,
  request: { cursor?: ExportCursor; limit: number },
): Promise<ExportPage> {
  const page: ExportPage = {
    format: EXPORT_FORMAT,
    exported_at: new Date().toISOString(),
    conversations: [],
    interactions: [],
    memories: [],
    actions: [],
    next_cursor: null,
  };
  let bytes = 0;
  if (!request.cursor) {
    const network = await findNetwork(db, networkId);
    if (!network) throw networkNotFound();
    const clients = await listClients(db, networkId);
    page.network = toNetwork(
      network,
      clients.map((c) => c.client_id),
    );
    page.persons = (await listPersons(db, networkId)).map(toPerson);
    bytes = JSON.stringify(page).length;
  }
  let room = request.limit;
  let section = request.cursor?.section ?? EXPORT_SECTIONS[0];
  let after = request.cursor?.after;
  for (;;) {
    const asked = Math.min(room, BATCH);
    const rows = await exportRows(db, networkId, section, after, asked);
    for (const row of rows) {
      const item = (convert[section] as (r: typeof row) => unknown)(row);
      const size = JSON.stringify(item).length + 1;
      if (bytes + size > PAGE_BYTES && room < request.limit) {
        page.next_cursor = encodeCursor({ section, after });
        return page;
      }
      (page[section] as unknown[]).push(item);
      bytes += size;
      room--;
      after = row.position;
    }
    if (rows.length === asked && room === 0) {
      page.next_cursor = encodeCursor({ section, after });
      return page;
    }
    if (rows.length < asked) {
      const next = EXPORT_SECTIONS[EXPORT_SECTIONS.indexOf(section) + 1];
      if (!next) return page;
      section = next;
      after = undefined;
    }
  }
}
