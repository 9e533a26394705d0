import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contexts, defaultContextName } from '../../functions/contexts';
import { ROOT } from '../../lib/config/build';
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

/** The context of cdk.json (feature flags, stage default), which `cdk synth` gives the app. */
export const cdkJsonContext = (): Record<string, unknown> =>
  JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context;

/** An app as the CDK CLI makes it (cdk.json's context, feature flags included), in a temporary folder. */
export const newMiraApp = (name: string, context: Record<string, unknown> = {}): App =>
  new App({
    outdir: mkdtempSync(join(tmpdir(), `mira-cdk-${name}-`)),
    context: { ...cdkJsonContext(), ...context },
  });

/** One stage of the real app, synthesised into a temporary folder (images are staged, not built). */
export function synthesiseMira(stage: StageName, overrides: StageOverrides = {}): SynthesisedMira {
  const app = newMiraApp(stage, { stage });
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
