import { Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type AppDeclaration, parseRouteKey, pascalCase } from '../declaration.js';
import type { JwtSettings } from './identity.js';
import { LOG_RETENTION, type SiyuFunction } from './siyu-function.js';

export interface SiyuHttpApiProps {
  readonly routes: AppDeclaration['routes'];
  readonly functions: Readonly<Record<string, SiyuFunction>>;
  readonly jwt: JwtSettings;
}

/** Stage-wide limits (requests per second); they keep a runaway client from exhausting Lambda concurrency. */
const THROTTLE = { rateLimit: 100, burstLimit: 200 };

/** One JSON object per request: ids, route, status and timings; no bodies, no headers. */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    requestTime: '$context.requestTime',
    routeKey: '$context.routeKey',
    status: '$context.status',
    protocol: '$context.protocol',
    responseLength: '$context.responseLength',
    responseLatency: '$context.responseLatency',
    integrationLatency: '$context.integrationLatency',
    integrationError: '$context.integrationErrorMessage',
    authorizerError: '$context.authorizer.error',
    tenantId: '$context.authorizer.claims.tenant_id',
    sourceIp: '$context.identity.sourceIp',
  }),
);

const OPEN_ROUTE_REASONS = {
  public: 'Deliberately open (API.md): health check and the published OpenAPI and event documents.',
  signature:
    "Webhook: authenticated by the shop's request signature, which the handler verifies before " +
    'writing anything (API.md: no JWT; the signature is the auth).',
} as const;

/**
 * The HTTP API: one route per declared route key, each integrated with its function (one Lambda
 * integration per function, shared by its routes); `jwt` routes go through the JWT authorizer,
 * `public` and `signature` routes through none.
 */
export class SiyuHttpApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;

  constructor(scope: Construct, id: string, props: SiyuHttpApiProps) {
    super(scope, id);
    this.api = new HttpApi(this, 'Api', {
      apiName: 'siyu',
      description: 'siyu REST API',
      createDefaultStage: false,
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: LOG_RETENTION });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: THROTTLE,
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format: ACCESS_LOG_FORMAT },
    });

    const jwtAuthorizer = new HttpJwtAuthorizer('Jwt', props.jwt.issuer, {
      authorizerName: 'siyu-jwt',
      jwtAudience: [...props.jwt.audience],
    });
    const noAuthorizer = new HttpNoneAuthorizer();
    const integrations = new Map<string, HttpLambdaIntegration>();
    const integrationOf = (fnName: string) => {
      let integration = integrations.get(fnName);
      if (!integration) {
        const fn = props.functions[fnName];
        if (!fn) throw new Error(`No function "${fnName}" for the HTTP API.`);
        integration = new HttpLambdaIntegration(`${pascalCase(fnName)}Integration`, fn.fn);
        integrations.set(fnName, integration);
      }
      return integration;
    };

    for (const [routeKey, route] of Object.entries(props.routes)) {
      const { method, path } = parseRouteKey(routeKey);
      const httpRoute = new HttpRoute(this.api, routeKey.replaceAll('/', '_'), {
        httpApi: this.api,
        routeKey: HttpRouteKey.with(path, HttpMethod[method]),
        integration: integrationOf(route.fn),
        authorizer: route.auth === 'jwt' ? jwtAuthorizer : noAuthorizer,
      });
      if (route.auth !== 'jwt') {
        Validations.of(httpRoute).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: OPEN_ROUTE_REASONS[route.auth],
        });
      }
    }
  }

  /** `https://<api>.execute-api.<region>.amazonaws.com/` (routes start with `/v1`). */
  get url(): string {
    return this.stage.url;
  }
}
