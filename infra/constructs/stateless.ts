import { CfnOutput, Stack } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import type { AppDeclaration } from '../declaration.js';
import { SiyuHttpApi } from './http-api.js';
import type { JwtSettings } from './identity.js';
import { Services } from './services.js';
import type { TableRef } from './siyu-function.js';

export interface StatelessProps {
  readonly declaration: AppDeclaration;
  readonly table: TableRef;
  readonly bus: events.IEventBus;
  readonly jwt: JwtSettings;
}

/** Functions, their triggers and the HTTP API, all generated from the app declaration. */
export class Stateless extends Construct {
  readonly services: Services;
  readonly httpApi: SiyuHttpApi;

  constructor(scope: Construct, id: string, props: StatelessProps) {
    super(scope, id);
    this.services = new Services(this, 'Services', {
      declaration: props.declaration,
      table: props.table,
      bus: props.bus,
    });
    this.httpApi = new SiyuHttpApi(this, 'Http', {
      routes: props.declaration.routes,
      functions: this.services.functions,
      jwt: props.jwt,
    });
    new CfnOutput(Stack.of(this), 'ApiUrl', { value: this.httpApi.url });
  }
}
