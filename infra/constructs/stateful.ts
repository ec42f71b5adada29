import { CfnOutput, Stack } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { Identity, type JwtSettings } from './identity.js';
import type { TableRef } from './siyu-function.js';
import { Storage } from './storage.js';

/** Who issues the API's tokens: the stack's own Cognito user pool, or an external OIDC provider. */
export type AuthConfig = { kind: 'cognito' } | ({ kind: 'oidc' } & JwtSettings);

export interface StatefulProps {
  readonly auth: AuthConfig;
}

/**
 * What holds data: the table, the bus and (by default) the user pool, kept apart from the
 * stateless part (functions and API), which can be replaced without touching any of this.
 */
export class Stateful extends Construct {
  readonly table: TableRef;
  readonly bus: events.IEventBus;
  readonly jwt: JwtSettings;
  readonly identity?: Identity;

  constructor(scope: Construct, id: string, props: StatefulProps) {
    super(scope, id);
    const storage = new Storage(this, 'Storage');
    this.table = storage;
    this.bus = storage.bus;
    new CfnOutput(Stack.of(this), 'TableName', { value: storage.table.tableName });
    new CfnOutput(Stack.of(this), 'EventBusName', { value: storage.bus.eventBusName });

    if (props.auth.kind === 'cognito') {
      this.identity = new Identity(this, 'Identity');
      this.jwt = this.identity;
      new CfnOutput(Stack.of(this), 'UserPoolId', { value: this.identity.userPool.userPoolId });
      new CfnOutput(Stack.of(this), 'UserPoolClientId', { value: this.identity.client.userPoolClientId });
    } else {
      this.jwt = { issuer: props.auth.issuer, audience: props.auth.audience };
    }
  }
}
