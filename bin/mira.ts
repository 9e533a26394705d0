/** The CDK app: `npx cdk synth|deploy -c stage=dev|prod` (default dev). */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { contexts, defaultContextName } from '../functions/contexts';
import { stageConfig } from '../lib/config/stages';
import { buildMira } from '../lib/mira-app';

const app = new App();
const config = stageConfig(app.node.tryGetContext('stage') as string | undefined, {
  alarmEmails: app.node.tryGetContext('alarmEmails') as string | undefined,
});
buildMira(app, config, contexts, defaultContextName);
// cdk-nag 3 is a policy-validation plugin (not an Aspect): it runs after synthesis and an unacknowledged
// finding fails `cdk synth`. Acknowledgements live next to the resources, each with its reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
