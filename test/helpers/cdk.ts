import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contexts, defaultContextName } from '../../functions/contexts';
import { stageConfig, type StageName, type StageOverrides } from '../../lib/config/stages';
import { buildMira, type MiraStacks } from '../../lib/mira-app';

export interface SynthesisedMira {
  app: App;
  stacks: MiraStacks;
  network: Template;
  data: Template;
  api: Template;
  observability: Template;
}

/** One stage of the real app, synthesised into a temporary folder (images are staged, not built). */
export function synthesiseMira(stage: StageName, overrides: StageOverrides = {}): SynthesisedMira {
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), `mira-cdk-${stage}-`)), context: { stage } });
  const stacks = buildMira(app, stageConfig(stage, overrides), contexts, defaultContextName);
  return {
    app,
    stacks,
    network: Template.fromStack(stacks.network),
    data: Template.fromStack(stacks.data),
    api: Template.fromStack(stacks.api),
    observability: Template.fromStack(stacks.observability),
  };
}
