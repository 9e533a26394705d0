import type { Context } from 'aws-lambda';
import { getDb } from '../../shared/db/client';
import { createHandler, type ApiEvent, type ApiResult } from '../../shared/http/pipeline';
import { memoryRoutes } from './routes';
import { runMemorySweep } from './sweep';

const http = createHandler(memoryRoutes);

/** The scheduled sweep's event (an EventBridge rule's constant input). */
interface SweepEvent {
  action: 'memory_sweep';
}

const isSweep = (event: unknown): event is SweepEvent =>
  typeof event === 'object' && event !== null && (event as SweepEvent).action === 'memory_sweep';

/** The memories API, and on its schedule the memory sweep (the local server runs it on a timer). */
export const handler = async (event: ApiEvent, context: Context): Promise<ApiResult> => {
  // The schedule's event is no HTTP event; its report is logged by the sweep and returned to EventBridge.
  if (isSweep(event)) return (await runMemorySweep(await getDb())) as unknown as ApiResult;
  return http(event, context);
};
