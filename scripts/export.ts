/**
 * `npm run export -- <P> <file>`: downloads a network's whole export (`GET P/export`, page after page until
 * `next_cursor` is null) into one JSON file, `{format, exported_at, network, persons, conversations,
 * interactions, memories, actions}`: the "download my data" file. `P` is the API's prefix
 * (`https://…/api/v1` for your own network, or `https://…/api/v1/<network id>`); the token is MIRA_TOKEN
 * (a member's access token). Records are written as they arrive, so a long history never sits in memory.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

const [prefix, file] = process.argv.slice(2);
const token = process.env.MIRA_TOKEN;
if (!prefix || !file || !token) {
  console.error(
    'usage: MIRA_TOKEN=<access token> npm run export -- <P, e.g. http://localhost:8000/api/v1> <file>',
  );
  process.exit(2);
}

const SECTIONS = ['conversations', 'interactions', 'memories', 'actions'] as const;
type Page = Record<(typeof SECTIONS)[number], unknown[]> & {
  format: string;
  exported_at: string;
  network?: unknown;
  persons?: unknown[];
  next_cursor: string | null;
};

async function page(cursor: string | null): Promise<Page> {
  const url = new URL(`${prefix.replace(/\/+$/, '')}/export`);
  if (cursor) url.searchParams.set('cursor', cursor);
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok)
    throw new Error(`GET ${url.pathname} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as Page;
}

async function main(): Promise<void> {
  const out = createWriteStream(file);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  // One section per array: the pages come section by section, newest first within each.
  const seen = Object.fromEntries(SECTIONS.map((s) => [s, 0])) as Record<(typeof SECTIONS)[number], number>;
  let open: (typeof SECTIONS)[number] | undefined;
  let cursor: string | null = null;
  let first = true;
  do {
    const current = await page(cursor);
    if (first) {
      const head = { format: current.format, exported_at: current.exported_at, network: current.network };
      await write(`${JSON.stringify(head).slice(0, -1)},"persons":${JSON.stringify(current.persons ?? [])}`);
      first = false;
    }
    for (const section of SECTIONS)
      for (const record of current[section]) {
        if (open !== section) {
          await write(`${open ? ']' : ''},"${section}":[`);
          open = section;
        }
        await write(`${seen[section]++ ? ',' : ''}${JSON.stringify(record)}`);
      }
    cursor = current.next_cursor;
  } while (cursor);
  if (open) await write(']');
  for (const section of SECTIONS.filter((s) => seen[s] === 0)) await write(`,"${section}":[]`);
  await write('}\n');
  out.end();
  await once(out, 'finish');
  console.log(`${file}: ${SECTIONS.map((s) => `${seen[s]} ${s}`).join(', ')}`);
}

main().catch((error: unknown) => {
  console.error(String(error));
  process.exit(1);
});
