import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Template } from 'aws-cdk-lib/assertions';
import { rmSync } from 'node:fs';
import { contexts, defaultContextName } from '../../functions/contexts';
import { stageConfig, stages } from '../../lib/config/stages';
import { buildMira } from '../../lib/mira-app';
import { newMiraApp, synthesiseMira, type SynthesisedMira } from '../helpers/cdk';

let mira: SynthesisedMira;
afterAll(() => {
  rmSync(mira.app.outdir, { recursive: true, force: true });
});
beforeAll(() => {
  mira = synthesiseMira('prod');
});

describe('prod stage', () => {
  it('runs the database Multi-AZ with deletion protection, and keeps it when the stack goes', () => {
    const [id, db] = Object.entries(mira.data.findResources('AWS::RDS::DBInstance'))[0];

    expect(db.Properties).toMatchObject({ MultiAZ: true, DeletionProtection: true, StorageEncrypted: true });
    expect(db.DeletionPolicy).toBe('Retain');
    expect(id).toBe('Database' + id.slice('Database'.length));
  });

  it('keeps what the database needs with it: credentials secret, parameters, subnet and security group', () => {
    const resources = mira.data.toJSON().Resources as Record<string, any>;
    const [dbId, db] = Object.entries(resources).find(([, r]) => r.Type === 'AWS::RDS::DBInstance')!;
    const referenced = new Set(
      [...JSON.stringify(db.Properties).matchAll(/"(?:Ref|Fn::GetAtt)":\[?"([^"]+)"/g)].map((m) => m[1]),
    );
    const secretId = Object.keys(resources).find(
      (id) =>
        resources[id].Type === 'AWS::SecretsManager::SecretTargetAttachment' &&
        resources[id].Properties.TargetId.Ref === dbId,
    );
    const credentials = resources[secretId!].Properties.SecretId.Ref as string;
    const kept = [...new Set([...referenced, credentials])]
      .filter((id) => resources[id])
      .map((id) => ({ type: resources[id].Type, deletion: resources[id].DeletionPolicy }));

    expect(kept.map((k) => k.type).sort()).toEqual([
      'AWS::EC2::SecurityGroup',
      'AWS::RDS::DBParameterGroup',
      'AWS::RDS::DBSubnetGroup',
      'AWS::SecretsManager::Secret',
    ]);
    for (const resource of kept) expect(resource).toEqual({ type: resource.type, deletion: 'Retain' });
    // ...and the application secret (JWT secret, keys set by hand) too.
    const appSecret = Object.entries(resources).find(([id]) => id.startsWith('AppSecret'))![1];
    expect(appSecret.DeletionPolicy).toBe('Retain');
  });

  it('has one NAT gateway per AZ', () => {
    mira.network.resourceCountIs('AWS::EC2::NatGateway', 2);
  });

  it('turns legacy network-id-only access off and restricts CORS origins', () => {
    // The HTTP contexts' functions (the realtime socket's function and the register worker serve no HTTP routes).
    const envs = Object.values(mira.api.findResources('AWS::Lambda::Function'))
      .map((fn) => fn.Properties.Environment?.Variables ?? {})
      .filter(
        (env) =>
          env.APP_SECRET_ARN && !['mira-realtime', 'mira-worker'].includes(env.POWERTOOLS_SERVICE_NAME),
      );

    expect(envs).toHaveLength(contexts.length);
    for (const env of envs) {
      expect(env.LEGACY_NETWORK_AUTH).toBe('false');
      expect(env.CORS_ORIGINS).toBe(stages.prod.api.corsOrigins.join(','));
    }
  });

  it('keeps the logical ids of the data stack when a context is added', () => {
    const app = newMiraApp('grown');
    const extra = {
      name: 'extra',
      size: 'standard' as const,
      routes: [{ ...contexts[0].routes[0], scope: 'scoped' as const, path: '/extra' }],
    };
    const stacks = buildMira(app, stageConfig('prod'), [...contexts, extra], defaultContextName);
    const before = Object.keys(mira.data.toJSON().Resources).sort();
    const after = Object.keys(Template.fromStack(stacks.data).toJSON().Resources).sort();
    rmSync(app.outdir, { recursive: true, force: true });

    expect(after).toEqual(before);
    expect(before).toEqual(
      expect.arrayContaining([expect.stringMatching(/^Database/), expect.stringMatching(/^AppSecret/)]),
    );
  });

  it("pages the stage's subscribers on every alarm", () => {
    const subscriptions = Object.values(mira.observability.findResources('AWS::SNS::Subscription')).map(
      (s) => [s.Properties.Protocol, s.Properties.Endpoint],
    );

    expect(subscriptions).toEqual(stages.prod.alarms.subscriptions.emails.map((email) => ['email', email]));
    expect(subscriptions.length).toBeGreaterThan(0);
  });

  it('fails synth when nobody would receive the alarms', () => {
    const app = newMiraApp('unwatched');
    const prod = stageConfig('prod', { alarmEmails: '' });
    try {
      buildMira(app, prod, contexts, defaultContextName);

      expect(prod.alarms.subscriptions).toEqual({ emails: [], httpsUrls: [] });
      expect(() => app.synth()).toThrow(/prod alarm topic has no subscribers/);
    } finally {
      rmSync(app.outdir, { recursive: true, force: true });
    }
  });

  it('refuses an alarm email that is not an address, and an endpoint that is not https', () => {
    const app = newMiraApp('bad-subscribers');
    const prod = stageConfig('prod');
    try {
      buildMira(
        app,
        {
          ...prod,
          alarms: { ...prod.alarms, subscriptions: { emails: ['oncall'], httpsUrls: ['http://x.example'] } },
        },
        contexts,
        defaultContextName,
      );

      expect(() => app.synth()).toThrow(/Not an email address: "oncall"[\s\S]*must be https/);
    } finally {
      rmSync(app.outdir, { recursive: true, force: true });
    }
  });
});
