import { afterAll, describe, expect, it } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { AwsSolutionsChecks } from 'cdk-nag';
import { rmSync } from 'node:fs';
import { contexts, defaultContextName } from '../../functions/contexts';
import { stageConfig } from '../../lib/config/stages';
import { buildMira } from '../../lib/mira-app';
import { newMiraApp } from '../helpers/cdk';

/**
 * cdk-nag 3 is a policy-validation plugin (`Validations.of(app).addPlugins(...)`, as bin/mira.ts does),
 * not an Aspect; `validateScope` runs the same rules over a construct tree and honours the
 * `Validations.of(...).acknowledge(...)` acknowledgements, so tests need no synthesis to disk.
 */
const findings = (app: App) =>
  new AwsSolutionsChecks().validateScope(app).violations.map((v) => ({
    rule: v.ruleName,
    where: v.violatingResources.map((r) => r.resourceLogicalId ?? r.constructPath).join(', '),
  }));

const outdirs: string[] = [];
const newApp = () => {
  const app = newMiraApp('nag');
  outdirs.push(app.outdir);
  return app;
};
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

describe('cdk-nag AwsSolutions', () => {
  it.each(['dev', 'prod'] as const)('has no unacknowledged finding in the %s stage', (stage) => {
    const app = newApp();
    buildMira(app, stageConfig(stage), contexts, defaultContextName);

    expect(findings(app)).toEqual([]);
  });

  it('flags an unencrypted, public database (so the checks really run)', () => {
    const app = newApp();
    const stack = new Stack(app, 'Careless');
    const vpc = new ec2.Vpc(stack, 'Vpc');
    new rds.DatabaseInstance(stack, 'Db', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
      vpc,
      storageEncrypted: false,
    });

    const rules = findings(app).map((f) => f.rule);

    expect(rules).toContain('AwsSolutions-RDS2');
    expect(rules).toContain('AwsSolutions-SMG4');
  });
});
