import * as z from 'zod';
import type { Network, NetworkClient } from '../../shared/db/types';
import { clientIdSchema, iso, isoTimestamp } from '../../shared/http/validation';

export const networkSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    service_enabled: z.boolean(),
    settings: z.record(z.string(), z.unknown()),
    connected_clients: z.array(z.string()),
    created_at: isoTimestamp,
    updated_at: isoTimestamp,
  })
  .meta({
    id: 'Network',
    example: {
      id: '7d0c3a4e-2f0b-4c55-9a55-2f1f6f3f8a10',
      name: 'Home',
      service_enabled: true,
      settings: {},
      connected_clients: ['kitchen', 'desktop-1'],
      created_at: '2026-01-01T00:00:00.000Z',
      updated_at: '2026-01-01T00:00:00.000Z',
    },
  });

export const clientSchema = z
  .object({
    client_id: z.string(),
    connected_at: isoTimestamp,
    metadata: z.record(z.string(), z.unknown()),
  })
  .meta({
    id: 'Client',
    example: { client_id: 'kitchen', connected_at: '2026-01-01T00:00:00.000Z', metadata: { platform: 'pi' } },
  });

export const createNetworkBody = z
  .object({ name: z.string().trim().min(1).max(200) })
  .meta({ id: 'NetworkCreate' });
export const clientParams = z.object({ client_id: clientIdSchema });
export const registerClientBody = z
  .object({
    local_ip_address: z.string().max(64).nullish(),
    external_ip_address: z.string().max(64).nullish(),
  })
  .meta({ id: 'ClientRegister' });
export const toggleBody = z.object({ client_id: clientIdSchema.optional() }).meta({ id: 'ServiceToggle' });
export const createClientBody = z
  .object({
    client_id: clientIdSchema.optional().meta({
      description: 'The name; without one the server assigns the first free of client1, client2...',
    }),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'ClientCreate' });
export const renameClientBody = z.object({ new_client_id: clientIdSchema }).meta({ id: 'ClientRename' });
export const clientListSchema = z.array(z.string()).meta({ example: ['kitchen', 'desktop-1'] });

export const toNetwork = (network: Network, clients: string[]): z.infer<typeof networkSchema> => ({
  id: network.id,
  name: network.name,
  service_enabled: network.service_enabled,
  settings: network.settings,
  connected_clients: clients,
  created_at: iso(network.created_at)!,
  updated_at: iso(network.updated_at)!,
});

export const toClient = (client: NetworkClient): z.infer<typeof clientSchema> => ({
  client_id: client.client_id,
  connected_at: iso(client.connected_at)!,
  metadata: client.metadata,
});
