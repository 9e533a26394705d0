import { Tags, type App } from 'aws-cdk-lib';
import type { StageConfig } from './config/stages';
import { ApiStack, type ApiStackProps } from './stacks/api-stack';
import { DataStack } from './stacks/data-stack';
import { NetworkStack } from './stacks/network-stack';
import { ObservabilityStack } from './stacks/observability-stack';
import { REALTIME_FUNCTION, WORKER_FUNCTION } from '../functions/contexts';

export interface MiraStacks {
  network: NetworkStack;
  data: DataStack;
  api: ApiStack;
  observability: ObservabilityStack;
}

/**
 * Composes one stage of Mira. The stacks are environment-agnostic (no account or region), so synthesis
 * never looks anything up; `cdk deploy` takes the account and region from the caller's credentials.
 */
export function buildMira(
  app: App,
  config: StageConfig,
  contexts: ApiStackProps['contexts'],
  defaultContext: string,
): MiraStacks {
  const network = new NetworkStack(app, `${config.prefix}-Network`, { config });
  const data = new DataStack(app, `${config.prefix}-Data`, { config, vpc: network.vpc });
  const api = new ApiStack(app, `${config.prefix}-Api`, {
    config,
    vpc: network.vpc,
    contexts,
    defaultContext,
    proxy: data.proxy,
    databaseName: data.databaseName,
    databaseSecret: data.databaseSecret,
    appSecret: data.appSecret,
    databaseClients: data.databaseClients,
  });
  const observability = new ObservabilityStack(app, `${config.prefix}-Observability`, {
    config,
    api: api.api,
    // Every function's invocations, errors and duration: the contexts' and the realtime socket's.
    functions: new Map([
      ...api.functions,
      [REALTIME_FUNCTION, api.realtimeFunction],
      [WORKER_FUNCTION, api.workerFunction],
    ]),
    queues: { queue: api.utteranceQueue, deadLetterQueue: api.utteranceDeadLetterQueue },
    database: data.database,
    proxy: data.proxy,
  });
  Tags.of(app).add('project', 'mira');
  Tags.of(app).add('stage', config.stage);
  return { network, data, api, observability };
}
