import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { authFromContext, createSiyu } from './siyu.js';

const app = new App();
createSiyu(app, { auth: authFromContext(app.node) });
// cdk-nag 3 runs as a policy-validation plugin: any unacknowledged finding fails the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
