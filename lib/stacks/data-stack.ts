import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config/stages';

export interface DataStackProps extends StackProps {
  config: StageConfig;
  vpc: ec2.IVpc;
}

/**
 * The stateful resources, in their own stack with stable logical ids (construct ids here must never
 * change: a new id means a new, empty database). PostgreSQL 16, encrypted, private, TLS enforced
 * (`rds.force_ssl`), credentials generated into Secrets Manager and rotated, RDS Proxy in front (the
 * Lambdas connect to the proxy only), and the application secret (Gemini key, JWT secret).
 */
export class DataStack extends Stack {
  readonly database: rds.DatabaseInstance;
  readonly proxy: rds.DatabaseProxy;
  readonly databaseSecret: secretsmanager.ISecret;
  readonly appSecret: secretsmanager.Secret;
  /** Attach to a function to let it reach the proxy on 5432. */
  readonly databaseClients: ec2.SecurityGroup;
  readonly databaseName = 'mira';

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { config, vpc } = props;
    const db = config.database;
    const retain = config.stage === 'prod' ? RemovalPolicy.RETAIN : RemovalPolicy.SNAPSHOT;
    /**
     * The policy of what belongs to the database's data: its credentials, parameters (TLS) and network
     * placement. Prod keeps them with the database; a snapshot (dev) is restored with a new password, so
     * there they go.
     */
    const withDatabase = retain === RemovalPolicy.SNAPSHOT ? RemovalPolicy.DESTROY : retain;

    this.databaseClients = new ec2.SecurityGroup(this, 'DatabaseClients', {
      vpc,
      description: 'Functions allowed to reach the database proxy',
    });
    const proxySg = new ec2.SecurityGroup(this, 'ProxySecurityGroup', {
      vpc,
      description: 'RDS Proxy: PostgreSQL from the Mira functions only',
      allowAllOutbound: false,
    });
    const databaseSg = new ec2.SecurityGroup(this, 'DatabaseSecurityGroup', {
      vpc,
      description: 'RDS PostgreSQL: from the proxy and the rotation function only',
      allowAllOutbound: false,
    });
    proxySg.addIngressRule(this.databaseClients, ec2.Port.tcp(5432), 'Mira functions');
    proxySg.addEgressRule(databaseSg, ec2.Port.tcp(5432), 'Proxy to database');
    databaseSg.addIngressRule(proxySg, ec2.Port.tcp(5432), 'RDS Proxy');

    const engine = rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 });
    this.database = new rds.DatabaseInstance(this, 'Database', {
      engine,
      instanceType: ec2.InstanceType.of(
        db.instanceClass === 'burstable3' ? ec2.InstanceClass.BURSTABLE3 : ec2.InstanceClass.MEMORY6_GRAVITON,
        ec2.InstanceSize[db.instanceSize.toUpperCase() as 'MICRO'],
      ),
      vpc,
      vpcSubnets: { subnetGroupName: 'data' },
      securityGroups: [databaseSg],
      credentials: rds.Credentials.fromGeneratedSecret('mira'),
      databaseName: this.databaseName,
      storageEncrypted: true,
      publiclyAccessible: false,
      multiAz: db.multiAz,
      deletionProtection: db.deletionProtection,
      backupRetention: Duration.days(db.backupRetentionDays),
      allocatedStorage: db.allocatedStorageGb,
      maxAllocatedStorage: db.maxAllocatedStorageGb,
      storageType: rds.StorageType.GP3,
      autoMinorVersionUpgrade: true,
      cloudwatchLogsExports: ['postgresql', 'upgrade'],
      enablePerformanceInsights: true,
      parameterGroup: new rds.ParameterGroup(this, 'Parameters', {
        engine,
        removalPolicy: withDatabase,
        // Refuse every connection without TLS, not just the proxy's.
        parameters: { 'rds.force_ssl': '1' },
      }),
      removalPolicy: retain,
    });
    this.databaseSecret = this.database.secret!;
    // `secret` is the attachment; the secret holding the credentials is the database's child.
    (this.database.node.findChild('Secret') as secretsmanager.Secret).applyRemovalPolicy(withDatabase);
    databaseSg.applyRemovalPolicy(withDatabase);
    // The rotation function gets its own ingress rule to the database from addRotationSingleUser.
    this.database.addRotationSingleUser({
      automaticallyAfter: Duration.days(db.rotationDays),
      vpcSubnets: { subnetGroupName: 'app' },
    });

    this.proxy = this.database.addProxy('Proxy', {
      secrets: [this.databaseSecret],
      vpc,
      vpcSubnets: { subnetGroupName: 'data' },
      securityGroups: [proxySg],
      requireTLS: true,
      debugLogging: false,
    });

    this.appSecret = new secretsmanager.Secret(this, 'AppSecret', {
      description: `Mira ${config.stage}: JWT_SECRET (generated); GEMINI_API_KEY, GOOGLE_/GITHUB_CLIENT_ID and _SECRET, OAUTH_REDIRECT_URI (set by an operator)`,
      // The template stays as it was first deployed: changing it makes CloudFormation generate a new value,
      // which would replace JWT_SECRET (signing everyone out) and drop the keys an operator set.
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ GEMINI_API_KEY: 'REPLACE_ME' }),
        generateStringKey: 'JWT_SECRET',
        passwordLength: 64,
        excludePunctuation: true,
      },
      removalPolicy: withDatabase,
    });

    new CfnOutput(this, 'AppSecretArn', {
      value: this.appSecret.secretArn,
      description:
        'Set GEMINI_API_KEY and the Google and GitHub sign-in keys in this secret (README, Deploy)',
    });

    // --- cdk-nag acknowledgements, each with its reason ------------------------------------------------
    Validations.of(this.appSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The Gemini key is issued by Google and rotated by an operator; rotating JWT_SECRET would sign every user out, so it is rotated by hand in a maintenance window',
    });
    Validations.of(this.database).acknowledge({
      id: 'AwsSolutions-RDS11',
      reason:
        'The database is reachable only from the proxy security group in isolated subnets; a non-default port adds nothing',
    });
    if (!db.multiAz) {
      Validations.of(this.database).acknowledge({
        id: 'AwsSolutions-RDS3',
        reason: 'Single-AZ is a cost choice for the dev stage only; prod is Multi-AZ (StageConfig)',
      });
    }
    if (!db.deletionProtection) {
      Validations.of(this.database).acknowledge({
        id: 'AwsSolutions-RDS10',
        reason: 'The dev stage is torn down and rebuilt; prod has deletion protection (StageConfig)',
      });
    }
  }
}
