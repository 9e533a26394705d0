import {
  CfnElement,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  Validations,
  type StackProps,
} from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration, WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as triggers from 'aws-cdk-lib/triggers';
import type { Construct, IConstruct } from 'constructs';
import {
  functionEntry,
  MIGRATE_FUNCTION,
  REALTIME_FUNCTION,
  WORKER_FUNCTION,
  type SizeClass,
} from '../../functions/contexts';
import { generateApiRoutes, type RouteTable } from '../api-routes';
import { sizingFor, type StageConfig } from '../config/stages';
import { ContextFunction } from '../constructs/context-function';

export interface ApiStackProps extends StackProps {
  config: StageConfig;
  vpc: ec2.IVpc;
  /** The bounded contexts (functions/contexts.ts): one function each, sized by class, routed from their tables. */
  contexts: Array<RouteTable & { size: SizeClass }>;
  /** The context serving `$default` (unknown paths get Mira's 404 from it). */
  defaultContext: string;
  proxy: rds.IDatabaseProxy;
  databaseName: string;
  databaseSecret: secretsmanager.ISecret;
  appSecret: secretsmanager.ISecret;
  databaseClients: ec2.ISecurityGroup;
}

const routeId = (path: string) =>
  `Route${path.replace(/\{proxy\+\}/g, 'Proxy').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string) => (c ?? '').toUpperCase())}`;

/**
 * The HTTP API and the functions behind it: one container-image Lambda per bounded context, routed from
 * the contexts' route tables (see lib/api-routes.ts for the route design), and the migrate function,
 * run by a CDK trigger on every deployment that changes it, before any context function is updated.
 */
export class ApiStack extends Stack {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  /** Context name -> function. */
  readonly functions = new Map<string, lambda.Function>();
  readonly migrateFunction: lambda.Function;
  readonly realtimeApi: apigw.WebSocketApi;
  readonly realtimeStage: apigw.WebSocketStage;
  readonly realtimeFunction: lambda.Function;
  /** Register v2: accepted audio (S3), the utterance queue and its dead-letter queue, and the worker. */
  readonly audioBucket: s3.Bucket;
  readonly utteranceQueue: sqs.Queue;
  readonly utteranceDeadLetterQueue: sqs.Queue;
  readonly workerFunction: lambda.Function;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy = config.stage === 'prod' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const functionsSg = new ec2.SecurityGroup(this, 'FunctionsSecurityGroup', {
      vpc: props.vpc,
      description: 'Mira functions: egress to the proxy, Secrets Manager endpoint and Gemini (HTTPS)',
    });
    const databaseEnvironment = {
      DB_SECRET_ARN: props.databaseSecret.secretArn,
      DB_PROXY_ENDPOINT: props.proxy.endpoint,
      DB_NAME: props.databaseName,
    };

    /** A function that serves requests: the database and the app secret (JWT, Gemini), read-only. */
    const servingFunction = (
      id: string,
      name: string,
      size: SizeClass,
      description: string,
      environment: Record<string, string> = {},
    ) => {
      const built = new ContextFunction(this, id, {
        context: name,
        description: `Mira ${config.stage}: ${description}`,
        sizing: sizingFor(config, size),
        vpc: props.vpc,
        securityGroups: [functionsSg, props.databaseClients],
        logRetention: config.logRetentionDays,
        removalPolicy,
        environment: {
          ...databaseEnvironment,
          APP_SECRET_ARN: props.appSecret.secretArn,
          LOG_LEVEL: config.logLevel,
          ...environment,
        },
      });
      // Read-only, and only these two secrets: grantRead gives GetSecretValue and DescribeSecret.
      props.appSecret.grantRead(built.function);
      props.databaseSecret.grantRead(built.function);
      return built.function;
    };

    for (const context of props.contexts) {
      const fn = servingFunction(
        `${pascal(context.name)}Context`,
        context.name,
        context.size,
        `${context.name} context`,
        {
          CORS_ORIGINS: config.api.corsOrigins.join(','),
          OAUTH_WEB_ORIGINS: config.api.oauthWebOrigins.join(','),
          LEGACY_NETWORK_AUTH: String(config.legacyNetworkAuth),
        },
      );
      this.functions.set(context.name, fn);
    }

    // The realtime socket's function: authenticates $connect, records and forgets connections, answers pings.
    this.realtimeFunction = servingFunction(
      'RealtimeFunction',
      REALTIME_FUNCTION,
      functionEntry(REALTIME_FUNCTION).size,
      'realtime WebSocket ($connect, $disconnect, ping)',
    );

    // Register v2 (functions/interactions/register.ts, worker.ts): the interactions context accepts an upload
    // (audio to the bucket, a message to the queue) and answers; the worker runs the pipeline.
    this.audioBucket = new s3.Bucket(this, 'AudioBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: false,
      removalPolicy,
      // Audio waits here only until the worker has processed it (then it is deleted); what a failure left
      // behind goes after a day. Nothing in it is the record: the interaction is.
      // POST P/uploads hands out presigned PUT URLs: a browser app PUTs straight to the bucket.
      cors: [
        {
          allowedMethods: [s3.HttpMethods.PUT],
          allowedOrigins: config.api.corsOrigins,
          allowedHeaders: ['content-type'],
          maxAge: 3600,
        },
      ],
      lifecycleRules: [
        {
          id: 'ExpireAcceptedAudio',
          expiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    Validations.of(this.audioBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'Short-lived upload staging written and read only by Mira roles; access is in CloudTrail',
    });
    // Only the object operations each side uses: no listing, no bucket settings. The interactions context
    // puts accepted audio and signs the upload URLs of POST P/uploads (a presigned PUT acts with its
    // signer's PutObject), and reads a registered upload; the worker reads and deletes.
    const audioObjects = (...actions: string[]) =>
      new iam.PolicyStatement({ actions, resources: [this.audioBucket.arnForObjects('*')] });
    const workerSizing = sizingFor(config, functionEntry(WORKER_FUNCTION).size);
    const maxAttempts = 3;
    this.utteranceDeadLetterQueue = new sqs.Queue(this, 'UtteranceDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    Validations.of(this.utteranceDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This is the dead-letter queue of the utterance queue',
    });
    this.utteranceQueue = new sqs.Queue(this, 'UtteranceQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS's advice for a Lambda event source: six times the function's timeout. It is also the backoff
      // before a failed message comes back.
      visibilityTimeout: Duration.seconds(workerSizing.timeoutSeconds * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.utteranceDeadLetterQueue, maxReceiveCount: maxAttempts },
      removalPolicy,
    });
    const pipelineEnvironment = {
      AUDIO_BUCKET: this.audioBucket.bucketName,
      UTTERANCE_QUEUE_URL: this.utteranceQueue.queueUrl,
      QUEUE_MAX_ATTEMPTS: String(maxAttempts),
      QUEUE_VISIBILITY_TIMEOUT_MS: String(workerSizing.timeoutSeconds * 6 * 1000),
    };
    const interactions = this.functions.get('interactions');
    if (interactions) {
      for (const [name, value] of Object.entries(pipelineEnvironment))
        interactions.addEnvironment(name, value);
      interactions.addToRolePolicy(audioObjects('s3:PutObject', 's3:GetObject', 's3:DeleteObject'));
      this.utteranceQueue.grantSendMessages(interactions);
    }
    this.workerFunction = servingFunction(
      'WorkerFunction',
      WORKER_FUNCTION,
      functionEntry(WORKER_FUNCTION).size,
      'register worker (utterance queue: settle, transcribe, store, publish)',
      pipelineEnvironment,
    );
    this.workerFunction.addToRolePolicy(audioObjects('s3:GetObject', 's3:DeleteObject'));
    // A message that must wait for a rival copy is sent again with a delay.
    this.utteranceQueue.grantSendMessages(this.workerFunction);
    this.workerFunction.addEventSource(
      new SqsEventSource(this.utteranceQueue, { batchSize: 5, reportBatchItemFailures: true }),
    );
    // `forget` (the voice function) and retention (the memories function's sweep) delete the audio of the
    // utterances they delete, and nothing else: DeleteObject only.
    const erasers = ['voice', 'memories'].flatMap((name) => this.functions.get(name) ?? []);
    for (const fn of erasers) {
      fn.addEnvironment('AUDIO_BUCKET', this.audioBucket.bucketName);
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['s3:DeleteObject'],
          resources: [this.audioBucket.arnForObjects('*')],
        }),
      );
      Validations.of(fn).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(
          this.audioBucket.node.defaultChild as CfnElement,
        )}.Arn>/*]`,
        reason:
          'Delete of the audio objects of forgotten or expired utterances: their keys are made at run time',
      });
    }
    for (const fn of [interactions, this.workerFunction])
      if (fn)
        Validations.of(fn).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(
            this.audioBucket.node.defaultChild as CfnElement,
          )}.Arn>/*]`,
          reason:
            'Object operations on the audio objects: their keys (utterance and upload ids) are made at run time',
        });

    const migrate = new ContextFunction(this, 'MigrateFunction', {
      context: MIGRATE_FUNCTION,
      description: `Mira ${config.stage}: database migrations (deploy-time trigger, or {"action":"run_migrations"})`,
      sizing: sizingFor(config, functionEntry(MIGRATE_FUNCTION).size),
      vpc: props.vpc,
      securityGroups: [functionsSg, props.databaseClients],
      logRetention: config.logRetentionDays,
      removalPolicy,
      environment: { ...databaseEnvironment, LOG_LEVEL: config.logLevel },
    });
    props.databaseSecret.grantRead(migrate.function);
    this.migrateFunction = migrate.function;
    const trigger = new triggers.Trigger(this, 'RunMigrations', {
      handler: migrate.function,
      // Also after every change of the migrate image, i.e. whenever a migration is added.
      executeOnHandlerChange: true,
      timeout: Duration.minutes(5),
      // New code must not serve requests before its schema exists.
      executeBefore: [...this.functions.values(), this.realtimeFunction, this.workerFunction],
    });
    Validations.of(trigger).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'CDK-owned trigger provider function; logs only',
    });

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: config.logRetentionDays,
      removalPolicy,
    });
    const defaultFunction = this.functions.get(props.defaultContext);
    if (!defaultFunction) throw new Error(`The default context ${props.defaultContext} has no function`);
    this.api = new apigw.HttpApi(this, 'HttpApi', {
      apiName: `${config.prefix}-api`,
      description: `Mira ${config.stage} API`,
      createDefaultStage: false,
      defaultIntegration: new HttpLambdaIntegration('DefaultIntegration', defaultFunction),
      corsPreflight: {
        allowOrigins: config.api.corsOrigins,
        allowMethods: [apigw.CorsHttpMethod.ANY],
        allowHeaders: [
          'Authorization',
          'Content-Type',
          'Idempotency-Key',
          'X-API-Key',
          'X-Network-Id',
          'Prefer',
        ],
        allowCredentials: !config.api.corsOrigins.includes('*'),
        maxAge: Duration.minutes(10),
      },
    });
    this.stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: config.api.throttlingRateLimit, burstLimit: config.api.throttlingBurstLimit },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.jsonWithStandardFields(),
      },
    });

    const integrations = new Map<string, HttpLambdaIntegration>();
    for (const route of generateApiRoutes(props.contexts)) {
      let integration = integrations.get(route.context);
      if (!integration) {
        integration = new HttpLambdaIntegration(
          `${pascal(route.context)}Integration`,
          this.functions.get(route.context)!,
        );
        integrations.set(route.context, integration);
      }
      const httpRoute = new apigw.HttpRoute(this, routeId(route.path), {
        httpApi: this.api,
        routeKey: apigw.HttpRouteKey.with(route.path, apigw.HttpMethod.ANY),
        integration,
      });
      Validations.of(httpRoute).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: 'Authorisation is Mira-specific (network id, JWT, API key) and done by the context function',
      });
    }
    for (const node of [this.api.node.findChild('DefaultRoute')]) {
      Validations.of(node).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: 'The default route answers unknown paths with a 404; it has nothing to authorise',
      });
    }

    // The realtime socket: a WebSocket API in front of the realtime function. Publishing contexts post to
    // its connections through the management endpoint (REALTIME_CALLBACK_URL), signed with their role.
    const realtimeIntegration = (id: string) => new WebSocketLambdaIntegration(id, this.realtimeFunction);
    this.realtimeApi = new apigw.WebSocketApi(this, 'RealtimeApi', {
      apiName: `${config.prefix}-realtime`,
      description: `Mira ${config.stage} realtime socket`,
      connectRouteOptions: { integration: realtimeIntegration('RealtimeConnectIntegration') },
      disconnectRouteOptions: { integration: realtimeIntegration('RealtimeDisconnectIntegration') },
      // Two-way: the function's answer to a message (the pong) goes back on the socket.
      defaultRouteOptions: {
        integration: realtimeIntegration('RealtimeMessageIntegration'),
        returnResponse: true,
      },
    });
    const realtimeLogs = new logs.LogGroup(this, 'RealtimeAccessLogs', {
      retention: config.logRetentionDays,
      removalPolicy,
    });
    this.realtimeStage = new apigw.WebSocketStage(this, 'RealtimeStage', {
      webSocketApi: this.realtimeApi,
      stageName: 'ws',
      autoDeploy: true,
      throttle: { rateLimit: config.api.throttlingRateLimit, burstLimit: config.api.throttlingBurstLimit },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(realtimeLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            connectionId: '$context.connectionId',
            routeKey: '$context.routeKey',
            eventType: '$context.eventType',
            status: '$context.status',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTime',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    // Only posting to connections of this API's stage (not GET/DELETE, not other stages), for the contexts
    // that publish events and for the realtime function's greeting.
    const postToConnections = () =>
      new iam.PolicyStatement({
        actions: ['execute-api:ManageConnections'],
        resources: [
          this.formatArn({
            service: 'execute-api',
            resource: this.realtimeApi.apiId,
            resourceName: `${this.realtimeStage.stageName}/POST/@connections/*`,
          }),
        ],
      });
    const acknowledgePostToConnections = (scope: IConstruct) =>
      Validations.of(scope).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${this.getLogicalId(
          this.realtimeApi.node.defaultChild as CfnElement,
        )}>/${this.realtimeStage.stageName}/POST/@connections/*]`,
        reason: 'PostToConnection on the realtime stage: connection ids are only known at run time',
      });
    for (const context of props.contexts.filter((c) => c.publishesRealtime)) {
      const fn = this.functions.get(context.name)!;
      fn.addEnvironment('REALTIME_CALLBACK_URL', this.realtimeStage.callbackUrl);
      fn.addToRolePolicy(postToConnections());
      acknowledgePostToConnections(fn);
    }
    // The worker publishes the outcome of every accepted upload (interaction, command_response, error).
    this.workerFunction.addEnvironment('REALTIME_CALLBACK_URL', this.realtimeStage.callbackUrl);
    this.workerFunction.addToRolePolicy(postToConnections());
    acknowledgePostToConnections(this.workerFunction);
    // The realtime function greets each socket (session_ready, service_status) from an asynchronous call to
    // itself, as nothing can be posted to a connection before $connect answered. A resource policy grants
    // the call and a policy of its own PostToConnection: neither goes through the function's default
    // policy, which the function depends on (that would be a cycle through the WebSocket API).
    const realtimeRole = this.realtimeFunction.role!;
    this.realtimeFunction.addPermission('RealtimeGreetingInvoke', {
      principal: new iam.ArnPrincipal(realtimeRole.roleArn),
      action: 'lambda:InvokeFunction',
    });
    const greetingPolicy = new iam.Policy(this, 'RealtimeGreetingPolicy', {
      roles: [realtimeRole],
      statements: [postToConnections()],
    });
    acknowledgePostToConnections(greetingPolicy);
    for (const routeKey of ['$connect', '$disconnect', '$default']) {
      const route = this.realtimeApi.node.tryFindChild(`${routeKey}-Route`);
      if (route)
        Validations.of(route).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'The realtime function authorises $connect itself (access token or API key in the query, ' +
            'as browsers cannot send headers on a WebSocket handshake); later routes need an open connection',
        });
    }

    // The streamed voice command: an HTTP API cannot relay a streamed body, so the streaming contexts answer
    // at their own Function URL with RESPONSE_STREAM. Same routes and auth as the API (the pipeline checks
    // the bearer or session token), so the URL is public like the API's; the app calls
    // `${VoiceUrl}api/v1/actions/voice`.
    for (const context of props.contexts.filter((c) => c.streaming)) {
      const url = this.functions.get(context.name)!.addFunctionUrl({
        authType: lambda.FunctionUrlAuthType.NONE,
        invokeMode: lambda.InvokeMode.RESPONSE_STREAM,
        cors: {
          allowedOrigins: config.api.corsOrigins,
          allowedMethods: [lambda.HttpMethod.POST],
          allowedHeaders: ['Authorization', 'Content-Type', 'X-API-Key', 'X-Network-Id'],
        },
      });
      new CfnOutput(this, `${pascal(context.name)}Url`, { value: url.url });
    }

    // The memory sweep (locally a timer): quiet conversations end and are summarised, memories past their
    // time expire, new texts are embedded. The memories function runs it on `{"action":"memory_sweep"}`.
    const memories = this.functions.get('memories');
    if (memories)
      new events.Rule(this, 'MemorySweepSchedule', {
        description: `Mira ${config.stage}: memory sweep (summaries, expiry, embeddings)`,
        schedule: events.Schedule.rate(Duration.minutes(1)),
        targets: [
          new eventTargets.LambdaFunction(memories, {
            event: events.RuleTargetInput.fromObject({ action: 'memory_sweep' }),
            retryAttempts: 0,
          }),
        ],
      });

    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint });
    new CfnOutput(this, 'RealtimeUrl', { value: this.realtimeStage.url });
    new CfnOutput(this, 'MigrateFunctionName', { value: migrate.function.functionName });
    new CfnOutput(this, 'UtteranceQueueUrl', { value: this.utteranceQueue.queueUrl });
  }
}

const pascal = (name: string) => name.replace(/(^|[-_])(\w)/g, (_, __, c: string) => c.toUpperCase());
