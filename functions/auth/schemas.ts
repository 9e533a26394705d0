import * as z from 'zod';
import { iso, isoTimestamp, uuidParam } from '../../shared/http/validation';

const email = z.email().max(254);
/** Usernames never contain `@`, so login can tell a username from an email. */
const username = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{3,50}$/, 'must be 3 to 50 letters, digits, ".", "_" or "-"');
// NIST SP 800-63B: at least 8 characters, no composition rules; said so a person understands it.
const password = z.string().min(8, 'Use at least 8 characters').max(1024);

export const registerBody = z.object({ email, password, username: username.nullish() }).meta({
  id: 'Register',
  example: { email: 'ana@example.com', password: 'correct horse', username: 'ana' },
});

export const loginBody = z
  .object({
    email: z.string().min(1).max(254).optional(),
    username: z.string().min(1).max(254).optional(),
    password: z.string().min(1).max(1024),
  })
  .refine((b) => b.email || b.username, { message: 'email or username is required', path: ['email'] })
  .meta({ id: 'Login', example: { email: 'ana@example.com', password: 'correct horse' } });

export const refreshBody = z.object({ refresh_token: z.string().min(1).max(4096) }).meta({ id: 'Refresh' });

export const userSchema = z
  .object({ id: z.uuid(), email: z.string(), username: z.string().nullable(), is_active: z.boolean() })
  .meta({ id: 'User' });

export const tokenResponse = z
  .object({
    access_token: z.string(),
    refresh_token: z.string(),
    token_type: z.literal('bearer'),
    user: userSchema,
    network_id: z.uuid().nullable(),
  })
  .meta({
    id: 'TokenResponse',
    example: {
      access_token: 'eyJhbGciOiJIUzI1NiJ9...',
      refresh_token: 'eyJhbGciOiJIUzI1NiJ9...',
      token_type: 'bearer',
      user: {
        id: '0b7d6c1e-6a6f-4f55-8b1a-2f1f6f3f8a10',
        email: 'ana@example.com',
        username: 'ana',
        is_active: true,
      },
      network_id: '7d0c3a4e-2f0b-4c55-9a55-2f1f6f3f8a10',
    },
  });

export const oauthUrlQuery = z.object({
  redirect_port: z.coerce.number().int().min(1).max(65535).default(4280),
});
export const oauthUrlResponse = z.object({ url: z.url(), state: z.string() }).meta({
  id: 'OAuthUrl',
  example: { url: 'https://accounts.google.com/o/oauth2/v2/auth?...', state: 'eyJ...' },
});
export const googleCallbackBody = z
  .object({ code: z.string().min(1).max(4096), state: z.string().min(1).max(4096) })
  .meta({ id: 'GoogleCallback' });
export const webLoginQuery = z.object({
  next: z.string().max(2048).optional().meta({ description: 'Path on the web app to open after sign-in' }),
  spa_origin: z
    .string()
    .max(2048)
    .optional()
    .meta({ description: 'The web app origin to return to; must be in OAUTH_WEB_ORIGINS' }),
});
/** What Google appends to the callback: a code, or an `error` when the person declined. */
export const webCallbackQuery = z.object({
  state: z.string().min(1).max(4096),
  code: z.string().min(1).max(4096).optional(),
  error: z.string().max(256).optional(),
  error_description: z.string().max(1024).optional(),
});
export const githubExchangeBody = z
  .object({
    code: z.string().min(1).max(4096),
    redirect_port: z.coerce.number().int().min(1).max(65535).default(4280),
    state: z.string().min(1).max(4096).optional(),
  })
  .meta({ id: 'GithubExchange' });

export const createApiKeyBody = z
  .object({ name: z.string().trim().min(1).max(100) })
  .meta({ id: 'ApiKeyCreate' });
export const apiKeySchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string(),
    created_at: isoTimestamp,
    last_used_at: isoTimestamp.nullable(),
    revoked_at: isoTimestamp.nullable(),
  })
  .meta({
    id: 'ApiKey',
    example: {
      id: '5a1e7f0e-3f1d-4d7b-9c55-2f1f6f3f8a10',
      name: 'kitchen speaker',
      prefix: 'mk_Qx3bT9aZ',
      created_at: '2026-01-01T00:00:00.000Z',
      last_used_at: null,
      revoked_at: null,
    },
  });
export const apiKeyCreatedSchema = apiKeySchema
  .extend({ key: z.string().startsWith('mk_') })
  .meta({ id: 'ApiKeyCreated', description: 'The key itself is shown only in this answer' });
export const apiKeyListSchema = z.array(apiKeySchema);
export const apiKeyParams = z.object({ key_id: uuidParam });

export const addMemberBody = z
  .object({ email, role: z.enum(['owner', 'member']).default('member') })
  .meta({ id: 'MemberAdd', example: { email: 'ben@example.com', role: 'member' } });
export const memberSchema = z
  .object({
    user_id: z.uuid(),
    email: z.string(),
    username: z.string().nullable(),
    role: z.enum(['owner', 'member']),
    created_at: isoTimestamp,
  })
  .meta({ id: 'Member' });
export const memberListSchema = z.array(memberSchema);
export const memberParams = z.object({ user_id: uuidParam });

export const toApiKey = (row: {
  id: string;
  name: string;
  prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}): z.infer<typeof apiKeySchema> => ({
  id: row.id,
  name: row.name,
  prefix: row.prefix,
  created_at: iso(row.created_at)!,
  last_used_at: iso(row.last_used_at),
  revoked_at: iso(row.revoked_at),
});

export const toMember = (row: {
  user_id: string;
  email: string;
  username: string | null;
  role: 'owner' | 'member';
  created_at: Date;
}): z.infer<typeof memberSchema> => ({ ...row, created_at: iso(row.created_at)! });

/** GET /auth/me (4.x app: Settings reads email and has_password). */
export const meResponse = z
  .object({
    id: z.uuid(),
    email: z.string(),
    username: z.string().nullable(),
    has_password: z.boolean(),
    created_at: z.string(),
  })
  .meta({ id: 'CurrentUser' });
