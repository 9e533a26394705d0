import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Match } from 'aws-cdk-lib/assertions';
import {
  contexts,
  defaultContextName,
  functionEntry,
  MIGRATE_FUNCTION,
  NON_HTTP_FUNCTIONS,
  REALTIME_FUNCTION,
  WORKER_FUNCTION,
} from '../../functions/contexts';
import { generateApiRoutes } from '../../lib/api-routes';
import { stages } from '../../lib/config/stages';
import { join } from 'node:path';
import { ROOT } from '../../lib/config/build';
import { buildStageSteps, replayBuildStage, stageImage } from '../../scripts/probe-bundle';
import { synthesiseMira, type SynthesisedMira } from '../helpers/cdk';

type Resource = { Type: string; Properties: Record<string, any> };

let mira: SynthesisedMira;
afterAll(() => {
  rmSync(mira.app.outdir, { recursive: true, force: true });
});
beforeAll(() => {
  mira = synthesiseMira('dev');
});

/** Context name (from POWERTOOLS_SERVICE_NAME) -> logical id of its function in the API stack. */
const functionIds = (): Map<string, string> => {
  const found = new Map<string, string>();
  for (const [id, fn] of Object.entries(
    mira.api.findResources('AWS::Lambda::Function') as Record<string, Resource>,
  )) {
    const service: string | undefined = fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME;
    if (service?.startsWith('mira-')) found.set(service.slice('mira-'.length), id);
  }
  return found;
};

/** Logical id of the role of a function. */
const roleOf = (functionId: string): string =>
  (mira.api.toJSON().Resources[functionId] as Resource).Properties.Role['Fn::GetAtt'][0];

/** Roles whose policies allow reading a secret whose reference mentions `secretName`. */
const rolesReading = (secretName: string): string[] => {
  const roles = new Set<string>();
  for (const policy of Object.values(
    mira.api.findResources('AWS::IAM::Policy') as Record<string, Resource>,
  )) {
    const statements: any[] = policy.Properties.PolicyDocument.Statement;
    const reads = statements.some(
      (s) =>
        [s.Action].flat().includes('secretsmanager:GetSecretValue') &&
        JSON.stringify(s.Resource).includes(secretName),
    );
    if (reads) for (const role of policy.Properties.Roles) roles.add(role.Ref);
  }
  return [...roles].sort();
};

describe('dev stage: functions', () => {
  it('has one x86_64 container-image function per context, plus the migrate and realtime functions', () => {
    const ids = functionIds();

    expect([...ids.keys()].sort()).toEqual([...contexts.map((c) => c.name), ...NON_HTTP_FUNCTIONS].sort());
    for (const id of ids.values()) {
      const fn = mira.api.toJSON().Resources[id] as Resource;
      expect(fn.Properties.PackageType).toBe('Image');
      expect(fn.Properties.Architectures).toEqual(['x86_64']);
      expect(fn.Properties.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE).toBe('Mira');
    }
  });

  it('sizes every function by its class in the registry, audio contexts larger than the others', () => {
    const dev = stages.dev.functions;
    for (const [name, id] of functionIds()) {
      const fn = mira.api.toJSON().Resources[id] as Resource;
      const entry = functionEntry(name);
      expect({ name, memory: fn.Properties.MemorySize, timeout: fn.Properties.Timeout }).toEqual({
        name,
        memory: dev[entry.size].memorySize,
        timeout: dev[entry.size].timeoutSeconds,
      });
      if (entry.audio) expect(fn.Properties.MemorySize).toBeGreaterThan(dev.standard.memorySize);
      if (name !== MIGRATE_FUNCTION) expect(fn.Properties.Timeout).toBeLessThan(30);
    }
  });

  it('places every function in the private app subnets, never in public ones', () => {
    const appSubnets = Object.keys(mira.network.findResources('AWS::EC2::Subnet')).filter((id) =>
      id.includes('app'),
    );
    for (const id of functionIds().values()) {
      const fn = mira.api.toJSON().Resources[id] as Resource;
      const subnets = JSON.stringify(fn.Properties.VpcConfig.SubnetIds);
      expect(subnets).not.toMatch(/publicSubnet/);
      expect(appSubnets.some((subnet) => subnets.includes(subnet))).toBe(true);
    }
  });

  it('runs the migrate function at deploy time through a trigger, before the context functions change', () => {
    const triggers = mira.api.findResources('Custom::Trigger') as Record<
      string,
      Resource & { DependsOn?: string[] }
    >;
    const [trigger] = Object.entries(triggers);
    const migrateId = functionIds().get(MIGRATE_FUNCTION)!;

    expect(Object.keys(triggers)).toHaveLength(1);
    const versionId = trigger[1].Properties.HandlerArn.Ref as string;
    expect(mira.api.toJSON().Resources[versionId].Properties.FunctionName).toEqual({ Ref: migrateId });
    const dependents = Object.values(mira.api.toJSON().Resources as Record<string, any>).filter(
      (r) => r.Type === 'AWS::Lambda::Function' && (r.DependsOn ?? []).includes(trigger[0]),
    );
    // The contexts, the realtime function and the register worker.
    expect(dependents).toHaveLength(contexts.length + 2);
  });
});

describe('dev stage: images', () => {
  it('stages a build context per image holding the Dockerfile and everything it copies', () => {
    const manifest = JSON.parse(
      readFileSync(join(mira.app.outdir, `${mira.stacks.api.artifactId}.assets.json`), 'utf8'),
    );
    const images: Array<{
      source: { directory: string; dockerFile: string; dockerBuildArgs: { CONTEXT: string } };
    }> = Object.values(manifest.dockerImages);
    const dockerfile = readFileSync(join(ROOT, 'functions/Dockerfile'), 'utf8');
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(' '));

    expect(images.map((i) => i.source.dockerBuildArgs.CONTEXT).sort()).toEqual(
      [...contexts.map((c) => c.name), ...NON_HTTP_FUNCTIONS].sort(),
    );
    expect(copied).toContain('functions');
    for (const image of images) {
      const dir = join(mira.app.outdir, image.source.directory);
      expect(existsSync(join(dir, image.source.dockerFile))).toBe(true);
      for (const source of copied)
        expect({ source, present: existsSync(join(dir, source)) }).toEqual({ source, present: true });
      expect(existsSync(join(dir, 'node_modules'))).toBe(false);
      expect(existsSync(join(dir, 'test'))).toBe(false);
    }
  });

  it('installs the dependencies before the per-function argument, so the ten images share those layers', () => {
    const steps = buildStageSteps();
    const argAt = steps.indexOf('ARG CONTEXT');
    const installAt = steps.findIndex((s) => s.startsWith('RUN npm ci'));

    expect(installAt).toBeGreaterThan(-1);
    expect(argAt).toBeGreaterThan(installAt);
    // Every COPY comes before it too (the sources are the same for every image); only the bundle differs.
    expect(steps.slice(argAt + 1).map((s) => s.split(' ')[0])).toEqual(['RUN']);
    expect(steps.slice(0, argAt).some((s) => s.includes('CONTEXT'))).toBe(false);
  });

  it("builds an audio function's image from its staged build context alone, models included", () => {
    const manifest = JSON.parse(
      readFileSync(join(mira.app.outdir, `${mira.stacks.api.artifactId}.assets.json`), 'utf8'),
    );
    const images: Array<{ source: any }> = Object.values(manifest.dockerImages);
    const image = images.find((i) => i.source.dockerBuildArgs.CONTEXT === 'streams')!;
    const work = mkdtempSync(join(tmpdir(), 'mira-image-build-'));
    try {
      replayBuildStage(
        join(mira.app.outdir, image.source.directory),
        join(work, 'build'),
        join(work, 'asset'),
        image.source.dockerBuildArgs,
      );
      const staged = stageImage(join(work, 'asset'), join(work, 'task'));

      for (const file of ['index.mjs', 'models/silero_vad_v5.onnx', 'models/mira-speaker-tdnn-v1.onnx']) {
        expect({ file, present: existsSync(join(staged.dir, file)) }).toEqual({ file, present: true });
      }
      expect(existsSync(join(staged.dir, 'node_modules', 'onnxruntime-node', 'package.json'))).toBe(true);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('dev stage: realtime socket', () => {
  const resources = () => mira.api.toJSON().Resources as Record<string, Resource>;
  const ofType = (type: string) => Object.entries(resources()).filter(([, r]) => r.Type === type);

  it('routes $connect, $disconnect and messages of a WebSocket API to the realtime function', () => {
    const realtimeId = functionIds().get(REALTIME_FUNCTION)!;
    const [[apiId, api]] = ofType('AWS::ApiGatewayV2::Api').filter(
      ([, r]) => r.Properties.ProtocolType === 'WEBSOCKET',
    );
    const routes = ofType('AWS::ApiGatewayV2::Route').filter(([, r]) => r.Properties.ApiId.Ref === apiId);
    const integrations = new Map(ofType('AWS::ApiGatewayV2::Integration'));

    expect(api.Properties.RouteSelectionExpression).toBe('$request.body.action');
    expect(routes.map(([, r]) => r.Properties.RouteKey).sort()).toEqual([
      '$connect',
      '$default',
      '$disconnect',
    ]);
    for (const [, route] of routes) {
      const integrationId = String(route.Properties.Target['Fn::Join'][1][1].Ref);
      expect(JSON.stringify(integrations.get(integrationId)!.Properties.IntegrationUri)).toContain(
        realtimeId,
      );
    }
    // The pong is the function's answer to a ping: the message route returns it to the socket.
    const messageRoute = routes.find(([, r]) => r.Properties.RouteKey === '$default')![1];
    expect(messageRoute.Properties.RouteResponseSelectionExpression).toBe('$default');
  });

  it('logs and throttles the socket stage', () => {
    const [[, stage]] = ofType('AWS::ApiGatewayV2::Stage').filter(([, r]) => r.Properties.StageName === 'ws');

    expect(stage.Properties.AccessLogSettings.DestinationArn).toBeDefined();
    expect(stage.Properties.DefaultRouteSettings.ThrottlingRateLimit).toBeGreaterThan(0);
  });

  it('lets exactly the publishing contexts post to connections, and only with POST on the socket stage', () => {
    const ids = functionIds();
    const publishers = contexts.filter((c) => c.publishesRealtime).map((c) => c.name);
    const posting = new Set<string>();
    for (const [, policy] of ofType('AWS::IAM::Policy')) {
      for (const statement of policy.Properties.PolicyDocument.Statement as any[]) {
        if (![statement.Action].flat().some((a: string) => a.startsWith('execute-api:'))) continue;
        expect(statement.Action).toBe('execute-api:ManageConnections');
        expect(JSON.stringify(statement.Resource)).toContain('/ws/POST/@connections/*');
        for (const role of policy.Properties.Roles) posting.add(role.Ref);
      }
    }

    expect(publishers.sort()).toEqual(['actions', 'interactions', 'memories', 'service', 'voice']);
    // And the realtime function, which greets each socket it opened (session_ready, service_status) from
    // an asynchronous call to itself that its resource policy allows.
    // The register worker too: it publishes the outcome of every accepted upload.
    expect([...posting].sort()).toEqual(
      [...publishers, REALTIME_FUNCTION, WORKER_FUNCTION].map((name) => roleOf(ids.get(name)!)).sort(),
    );
    const selfInvoke = ofType('AWS::Lambda::Permission').filter(
      ([, permission]) =>
        JSON.stringify(permission.Properties.FunctionName).includes(ids.get(REALTIME_FUNCTION)!) &&
        JSON.stringify(permission.Properties.Principal).includes(roleOf(ids.get(REALTIME_FUNCTION)!)),
    );
    expect(selfInvoke.map(([, p]) => p.Properties.Action)).toEqual(['lambda:InvokeFunction']);
    for (const name of publishers) {
      const variables = resources()[ids.get(name)!].Properties.Environment.Variables;
      expect(JSON.stringify(variables.REALTIME_CALLBACK_URL)).toContain('execute-api');
    }
    expect(
      resources()[ids.get('persons')!].Properties.Environment.Variables.REALTIME_CALLBACK_URL,
    ).toBeUndefined();
  });

  it('marks every context that publishes events as a publisher', () => {
    for (const context of contexts) {
      const folder = join(ROOT, 'functions', context.name);
      const publishes = readdirSync(folder).some((file) =>
        readFileSync(join(folder, file), 'utf8').includes('realtime/publisher'),
      );
      expect({ context: context.name, publishes }).toEqual({
        context: context.name,
        publishes: Boolean(context.publishesRealtime),
      });
    }
  });
});

describe('dev stage: secrets', () => {
  it('lets exactly the HTTP, realtime and worker functions read the application secret (the JWT secret)', () => {
    const ids = functionIds();
    // The worker calls Gemini (its key is in the application secret).
    const roles = [...contexts.map((c) => c.name), REALTIME_FUNCTION, WORKER_FUNCTION].map((name) =>
      roleOf(ids.get(name)!),
    );

    expect(rolesReading('AppSecret')).toEqual(roles.sort());
  });

  it('lets exactly the HTTP functions and the migrate function read the database secret', () => {
    const ids = functionIds();
    const roles = [...ids.values()].map(roleOf).sort();

    expect(rolesReading('DatabaseSecret')).toEqual(roles);
  });

  it('grants reading only, never writing or deleting secrets', () => {
    const actions = Object.values(mira.api.findResources('AWS::IAM::Policy') as Record<string, Resource>)
      .flatMap((p) => p.Properties.PolicyDocument.Statement as any[])
      .flatMap((s) => [s.Action].flat())
      .filter((a: string) => a.startsWith('secretsmanager:'));

    expect([...new Set(actions)].sort()).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
  });

  it('passes secret ARNs and the proxy endpoint, never secret values, in the environment', () => {
    for (const id of functionIds().values()) {
      const env = (mira.api.toJSON().Resources[id] as Resource).Properties.Environment.Variables;
      expect(env.DB_SECRET_ARN).toBeDefined();
      expect(env.DB_PROXY_ENDPOINT).toBeDefined();
      expect(env.DB_NAME).toBe('mira');
      expect(env.DATABASE_URL).toBeUndefined();
      expect(env.JWT_SECRET).toBeUndefined();
      expect(env.GEMINI_API_KEY).toBeUndefined();
    }
  });
});

describe('dev stage: HTTP API', () => {
  it('maps every generated route to the function of the context that owns it', () => {
    const ids = functionIds();
    const resources = mira.api.toJSON().Resources as Record<string, Resource>;
    const targetFunction = (target: unknown): string => {
      const integrationId = JSON.stringify(target).match(/"Ref":"([^"]+)"/)![1];
      return resources[integrationId].Properties.IntegrationUri['Fn::GetAtt'][0];
    };
    const httpApiId = Object.entries(resources).find(
      ([, r]) => r.Type === 'AWS::ApiGatewayV2::Api' && r.Properties.ProtocolType === 'HTTP',
    )![0];
    const routes = Object.values(
      mira.api.findResources('AWS::ApiGatewayV2::Route') as Record<string, Resource>,
    ).filter((r) => r.Properties.ApiId.Ref === httpApiId);
    const byKey = new Map(
      routes.map((r) => [r.Properties.RouteKey as string, targetFunction(r.Properties.Target)]),
    );

    for (const route of generateApiRoutes(contexts)) {
      expect({ route: route.path, fn: byKey.get(`ANY ${route.path}`) }).toEqual({
        route: route.path,
        fn: ids.get(route.context),
      });
    }
    expect(byKey.get('$default')).toBe(ids.get(defaultContextName));
    expect(routes).toHaveLength(generateApiRoutes(contexts).length + 1);
  });

  it('throttles the stage and writes access logs', () => {
    mira.api.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: Match.objectLike({
        ThrottlingRateLimit: stages.dev.api.throttlingRateLimit,
        ThrottlingBurstLimit: stages.dev.api.throttlingBurstLimit,
      }),
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
  });

  it('answers CORS preflights for the configured origins', () => {
    mira.api.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: Match.objectLike({ AllowOrigins: stages.dev.api.corsOrigins }),
    });
  });
});

describe('dev stage: data', () => {
  it('keeps PostgreSQL 16 encrypted, private, TLS-only and backed up', () => {
    mira.data.hasResourceProperties('AWS::RDS::DBInstance', {
      Engine: 'postgres',
      EngineVersion: Match.stringLikeRegexp('^16'),
      StorageEncrypted: true,
      PubliclyAccessible: false,
      BackupRetentionPeriod: stages.dev.database.backupRetentionDays,
    });
    mira.data.hasResourceProperties('AWS::RDS::DBParameterGroup', {
      Parameters: { 'rds.force_ssl': '1' },
    });
  });

  it('puts the database and its proxy in the isolated data subnets', () => {
    const group = Object.values(
      mira.data.findResources('AWS::RDS::DBSubnetGroup') as Record<string, Resource>,
    );
    expect(JSON.stringify(group[0].Properties.SubnetIds)).toMatch(/dataSubnet/);
    expect(JSON.stringify(group[0].Properties.SubnetIds)).not.toMatch(/publicSubnet|appSubnet/);
    mira.data.hasResourceProperties('AWS::RDS::DBProxy', {
      EngineFamily: 'POSTGRESQL',
      RequireTLS: true,
      VpcSubnetIds: Match.arrayWith([
        Match.objectLike({ 'Fn::ImportValue': Match.stringLikeRegexp('dataSubnet') }),
      ]),
    });
  });

  it('rotates the generated database credentials', () => {
    mira.data.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotationRules: { ScheduleExpression: `rate(${stages.dev.database.rotationDays} days)` },
    });
  });
});

describe('dev stage: network', () => {
  it('spans two AZs with NAT, flow logs and a Secrets Manager endpoint', () => {
    mira.network.resourceCountIs('AWS::EC2::Subnet', 6);
    mira.network.resourceCountIs('AWS::EC2::NatGateway', stages.dev.vpc.natGateways);
    mira.network.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL' });
    mira.network.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith(['.secretsmanager'])]) }),
      VpcEndpointType: 'Interface',
    });
  });
});

describe('dev stage: register v2 (queue, bucket, worker)', () => {
  const resources = () => mira.api.toJSON().Resources as Record<string, Resource>;
  const ofType = (type: string) => Object.entries(resources()).filter(([, r]) => r.Type === type);

  it('keeps accepted audio in a private, encrypted, TLS-only bucket that expires it', () => {
    const [[bucketId, bucket]] = ofType('AWS::S3::Bucket');
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0]).toMatchObject({
      ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' },
    });
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.LifecycleConfiguration.Rules).toEqual([
      expect.objectContaining({ Status: 'Enabled', ExpirationInDays: 1 }),
    ]);
    const [[, policy]] = ofType('AWS::S3::BucketPolicy');
    expect(JSON.stringify(policy.Properties.PolicyDocument)).toContain('aws:SecureTransport');
    expect(policy.Properties.Bucket).toEqual({ Ref: bucketId });
  });

  it('lets clients PUT presigned uploads from the allowed origins, and each function only its object operations', () => {
    const [[, bucket]] = ofType('AWS::S3::Bucket');
    expect(bucket.Properties.CorsConfiguration.CorsRules).toEqual([
      expect.objectContaining({
        AllowedMethods: ['PUT'],
        AllowedOrigins: stages.dev.api.corsOrigins,
        AllowedHeaders: ['content-type'],
      }),
    ]);
    const ids = functionIds();
    const s3Actions = (fn: string) => {
      const role = resources()[ids.get(fn)!].Properties.Role['Fn::GetAtt'][0];
      return ofType('AWS::IAM::Policy')
        .filter(([, p]) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === role))
        .flatMap(([, p]) => p.Properties.PolicyDocument.Statement)
        .flatMap((st: { Action: string | string[] }) => [st.Action].flat())
        .filter((action: string) => action.startsWith('s3:'))
        .sort();
    };
    // The presigned PUT of POST P/uploads acts with the interactions role's PutObject.
    expect(s3Actions('interactions')).toEqual(['s3:DeleteObject', 's3:GetObject', 's3:PutObject']);
    expect(s3Actions(WORKER_FUNCTION)).toEqual(['s3:DeleteObject', 's3:GetObject']);
  });

  it('queues utterances with a dead-letter queue after the configured attempts, both encrypted', () => {
    const queues = ofType('AWS::SQS::Queue');
    expect(queues).toHaveLength(2);
    const [main] = queues.filter(([, q]) => q.Properties.RedrivePolicy);
    const [dlq] = queues.filter(([, q]) => !q.Properties.RedrivePolicy);
    expect(main[1].Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [dlq[0], 'Arn'] },
      maxReceiveCount: 3,
    });
    for (const [, queue] of queues) expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    // Six times the worker's timeout, as AWS advises for a Lambda event source.
    const worker = resources()[functionIds().get(WORKER_FUNCTION)!];
    expect(main[1].Properties.VisibilityTimeout).toBe(worker.Properties.Timeout * 6);
  });

  it('runs the worker from the queue with partial batch failures, and tells both sides where things are', () => {
    const ids = functionIds();
    const [[, mapping]] = ofType('AWS::Lambda::EventSourceMapping');
    expect(mapping.Properties).toMatchObject({
      FunctionName: { Ref: ids.get(WORKER_FUNCTION) },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    for (const name of ['interactions', WORKER_FUNCTION]) {
      const env = resources()[ids.get(name)!].Properties.Environment.Variables;
      expect(Object.keys(env)).toEqual(
        expect.arrayContaining(['AUDIO_BUCKET', 'UTTERANCE_QUEUE_URL', 'QUEUE_MAX_ATTEMPTS']),
      );
    }
  });

  it('lets forget (voice) and retention (memories) delete audio objects, and nothing more', () => {
    const ids = functionIds();
    const policies = Object.values(ofType('AWS::IAM::Policy')).map(([, p]) => p.Properties);
    for (const name of ['voice', 'memories']) {
      const fn = resources()[ids.get(name)!];
      expect(Object.keys(fn.Properties.Environment.Variables)).toContain('AUDIO_BUCKET');
      const role = fn.Properties.Role['Fn::GetAtt'][0];
      const statements = policies
        .filter((p) => p.Roles.some((r: { Ref: string }) => r.Ref === role))
        .flatMap((p) => p.PolicyDocument.Statement)
        .filter((st) => JSON.stringify(st.Action).includes('s3:'));
      expect(statements.map((st) => st.Action)).toEqual(['s3:DeleteObject']);
    }
  });

  it('alarms on the age of the oldest utterance and on any dead letter', () => {
    const alarms = Object.values(
      mira.observability.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>,
    ).map((a) => a.Properties);
    expect(alarms.find((a) => a.MetricName === 'ApproximateAgeOfOldestMessage')).toMatchObject({
      Namespace: 'AWS/SQS',
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(alarms.find((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible')).toMatchObject({
      Namespace: 'AWS/SQS',
      Threshold: 0,
    });
  });
});

describe('dev stage: observability', () => {
  it('has a dashboard covering functions, API, database and Mira metrics', () => {
    const [dashboard] = Object.values(mira.observability.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard.Properties.DashboardBody);

    for (const metric of [
      'Invocations',
      'Errors',
      'Duration',
      'Throttles',
      '4xx',
      '5xx',
      'Latency',
      'DatabaseConnections',
      'CPUUtilization',
      'Mira',
    ]) {
      expect(body).toContain(metric);
    }
  });

  it('alarms on function error rate, API 5xx, p95 latency and database connections', () => {
    const alarms = Object.values(
      mira.observability.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>,
    );
    const described = alarms.map((a) => String(a.Properties.AlarmDescription));

    // Every context, the realtime function and the register worker.
    expect(described.filter((d) => d.includes('invocations failed'))).toHaveLength(contexts.length + 2);
    expect(described.some((d) => d.includes('5xx'))).toBe(true);
    expect(described.some((d) => d.includes('p95 latency'))).toBe(true);
    expect(described.some((d) => d.includes('connections'))).toBe(true);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toHaveLength(1);
  });
});

describe('dev stage: alarm notifications', () => {
  const resources = () => mira.observability.toJSON().Resources as Record<string, Resource>;
  const ofType = (type: string) => Object.entries(resources()).filter(([, r]) => r.Type === type);

  it('encrypts the alarm topic with a rotated key of its own that CloudWatch may use', () => {
    const [[keyId, key]] = ofType('AWS::KMS::Key');
    const [[, topic]] = ofType('AWS::SNS::Topic');

    // Not alias/aws/sns: CloudWatch alarms cannot publish to a topic under the AWS-managed key.
    expect(topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.Properties.KeyPolicy.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        }),
      ]),
    );
  });

  it("lets this account's CloudWatch alarms publish to the topic, over TLS only", () => {
    const [[, policy]] = ofType('AWS::SNS::TopicPolicy');
    const statements = policy.Properties.PolicyDocument.Statement as any[];

    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: 'sns:Publish',
          Condition: expect.objectContaining({
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          }),
        }),
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      ]),
    );
  });

  it('outputs the topic ARN, for subscribing', () => {
    const [[topicId]] = ofType('AWS::SNS::Topic');

    expect(mira.observability.toJSON().Outputs.AlarmTopicArn.Value).toEqual({ Ref: topicId });
  });

  it('subscribes the emails given with -c alarmEmails, and lets dev run without subscribers', () => {
    const withEmails = synthesiseMira('dev', { alarmEmails: 'ana@example.com, ben@example.com' });
    try {
      const subscriptions = Object.values(
        withEmails.observability.findResources('AWS::SNS::Subscription') as Record<string, Resource>,
      ).map((s) => [s.Properties.Protocol, s.Properties.Endpoint]);

      expect(subscriptions.sort()).toEqual([
        ['email', 'ana@example.com'],
        ['email', 'ben@example.com'],
      ]);
      mira.observability.resourceCountIs('AWS::SNS::Subscription', 0);
    } finally {
      rmSync(withEmails.app.outdir, { recursive: true, force: true });
    }
  });
});
