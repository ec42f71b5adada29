import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SiyuFunction } from '../../infra/constructs/siyu-function.js';
import type { AuthConfig } from '../../infra/constructs/stateful.js';
import { type AppDeclaration, siyuDeclaration } from '../../infra/declaration.js';
import { createSiyu } from '../../infra/siyu.js';
import { tableDefinition } from '../../shared/db/table-definition.js';

/** The real declaration plus a signature-checked route, so that case is covered whatever it holds. */
const SIGNED_ROUTE = 'POST /v1/signature-probe/{shopId}';
const declaration: AppDeclaration = {
  ...siyuDeclaration,
  routes: { ...siyuDeclaration.routes, [SIGNED_ROUTE]: { fn: 'system', auth: 'signature' } },
};
const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
const EXTERNAL_ISSUER: AuthConfig = {
  kind: 'oidc',
  issuer: 'https://login.example.com/',
  audience: ['siyu-api', 'siyu-admin'],
};

function synth(auth: AuthConfig) {
  const app = new App({ context: SKIP_BUNDLING });
  const { stack, stateful, stateless } = createSiyu(app, { auth, declaration });
  const template = Template.fromStack(stack);
  return { app, stack, stateful, stateless, data: template, api: template };
}

const logicalId = (construct: IConstruct) =>
  Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);

type Resource = { Properties: Record<string, unknown> };
const resourcesOf = (template: Template, type: string) =>
  Object.entries(template.findResources(type)) as [string, Resource][];

/** The newest Node.js runtime aws-cdk-lib knows, worked out as cdk-nag's AwsSolutions-L1 does. */
const newestNodeRuntime = lambda.Runtime.ALL.map((r) => r.name)
  .filter((name) => /^nodejs\d/.test(name))
  .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
  .at(-1);

const consumerFns = new Set(Object.values(declaration.streamConsumers).map((c) => c.fn));
const asyncInvoked = new Set([
  ...Object.values(declaration.schedules).map((s) => s.fn),
  ...Object.values(declaration.eventRules).map((r) => r.fn),
]);

function nagFindings(scope: IConstruct): string[] {
  return [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
    pack
      .validateScope(scope)
      .violations.map(
        (v) =>
          `${v.ruleName} (${v.severity}) at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      ),
  );
}

describe('the CDK app, generated from the app declaration', () => {
  let cognito: ReturnType<typeof synth>;
  let external: ReturnType<typeof synth>;

  beforeAll(() => {
    cognito = synth({ kind: 'cognito' });
    external = synth(EXTERNAL_ISSUER);
  });

  describe('stateful stack', () => {
    it('keeps the table: point-in-time recovery, deletion protection, retained when the stack goes', () => {
      cognito.data.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: Match.objectLike({
          BillingMode: 'PAY_PER_REQUEST',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: true,
        }),
      });
      expect(cognito.stack.terminationProtection).toBe(true);
    });

    it('builds the table from tableDefinition: keys, indexes, TTL and a NEW_AND_OLD_IMAGES stream', () => {
      cognito.data.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [
          { AttributeName: tableDefinition.partitionKey, KeyType: 'HASH' },
          { AttributeName: tableDefinition.sortKey, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: tableDefinition.globalSecondaryIndexes.map((index) =>
          Match.objectLike({
            IndexName: index.indexName,
            KeySchema: [
              { AttributeName: index.partitionKey, KeyType: 'HASH' },
              { AttributeName: index.sortKey, KeyType: 'RANGE' },
            ],
          }),
        ),
        TimeToLiveSpecification: { AttributeName: tableDefinition.timeToLiveAttribute, Enabled: true },
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      });
    });

    it('creates the event bus named siyu', () => {
      cognito.data.hasResourceProperties('AWS::Events::EventBus', { Name: 'siyu' });
    });

    it('by default creates a user pool whose V2_0 pre-token trigger customises access tokens', () => {
      cognito.data.hasResource('AWS::Cognito::UserPool', {
        DeletionPolicy: 'Retain',
        Properties: Match.objectLike({
          DeletionProtection: 'ACTIVE',
          AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
          LambdaConfig: {
            PreTokenGenerationConfig: {
              LambdaArn: { 'Fn::GetAtt': [logicalId(cognito.stateful.identity!.preTokenFunction.fn), 'Arn'] },
              LambdaVersion: 'V2_0',
            },
          },
        }),
      });
      for (const role of ['admin', 'staff']) {
        cognito.data.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: `role:${role}` });
      }
    });

    it('gives the user pool client no OAuth flows (no implicit grant) and no secret', () => {
      const [[, client]] = resourcesOf(cognito.data, 'AWS::Cognito::UserPoolClient') as [[string, Resource]];
      expect(client.Properties.GenerateSecret).toBe(false);
      expect(client.Properties.AllowedOAuthFlows).toBeUndefined();
    });

    it('outputs the table, the bus, and the user pool and its client when Cognito is used', () => {
      for (const output of ['TableName', 'EventBusName', 'UserPoolId', 'UserPoolClientId']) {
        cognito.data.hasOutput(output, {});
      }
      cognito.api.hasOutput('ApiUrl', {});
      expect(external.data.findOutputs('UserPoolId')).toEqual({});
    });

    it('with an external OIDC issuer, creates no user pool', () => {
      expect(external.data.findResources('AWS::Cognito::UserPool')).toEqual({});
      const functions = Object.keys(external.data.findResources('AWS::Lambda::Function'));
      expect(functions.some((id) => /PreToken/i.test(id))).toBe(false);
    });
  });

  describe('functions', () => {
    const allFunctions = () => resourcesOf(cognito.data, 'AWS::Lambda::Function');

    it('runs every function on the newest Node.js runtime, on arm64, with active tracing', () => {
      expect(newestNodeRuntime).toBe('nodejs24.x');
      const functions = allFunctions();
      expect(functions.length).toBeGreaterThan(Object.keys(declaration.functions).length);
      for (const [id, fn] of functions) {
        expect({ id, ...fn.Properties }).toMatchObject({
          id,
          Runtime: newestNodeRuntime,
          Architectures: ['arm64'],
          TracingConfig: { Mode: 'Active' },
        });
      }
    });

    it('gives each function its own log group with a retention, and roles no managed policy', () => {
      for (const [id, fn] of allFunctions()) {
        expect(fn.Properties.LoggingConfig, id).toMatchObject({ LogGroup: { Ref: expect.any(String) } });
      }
      for (const template of [cognito.data, cognito.api]) {
        template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
        for (const [id, role] of resourcesOf(template, 'AWS::IAM::Role')) {
          expect(role.Properties.ManagedPolicyArns, id).toBeUndefined();
        }
      }
    });

    it('takes memory and timeout from the declaration, 512 MB and 10 s by default', () => {
      for (const [name, decl] of Object.entries(declaration.functions)) {
        const fn = cognito.stateless.services.functions[name]!;
        const properties = (cognito.api.findResources('AWS::Lambda::Function')[logicalId(fn.fn)] as Resource)
          .Properties;
        expect({ name, ...properties }).toMatchObject({
          name,
          Description: decl.description,
          MemorySize: decl.memoryMb ?? 512,
          Timeout: decl.timeoutSeconds ?? 10,
        });
      }
    });

    it('sets TABLE_NAME only for table functions and EVENT_BUS_NAME only for publishers', () => {
      for (const [name, decl] of Object.entries(declaration.functions)) {
        const fn = cognito.api.findResources('AWS::Lambda::Function')[
          logicalId(cognito.stateless.services.functions[name]!.fn)
        ] as Resource;
        const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
        expect(variables, name).toMatchObject({
          POWERTOOLS_SERVICE_NAME: 'siyu',
          NODE_OPTIONS: '--enable-source-maps',
        });
        expect('TABLE_NAME' in variables, `${name} TABLE_NAME`).toBe(decl.table !== 'none');
        expect('EVENT_BUS_NAME' in variables, `${name} EVENT_BUS_NAME`).toBe(decl.putEvents === true);
      }
    });

    describe('permissions are what each function declares, nothing more', () => {
      const LOGS_AND_TRACES = [
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'xray:PutTraceSegments',
        'xray:PutTelemetryRecords',
      ];
      const READ = [
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:Query',
        'dynamodb:ConditionCheckItem',
      ];
      const WRITE = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];
      const STREAM = [
        'dynamodb:ListStreams',
        'dynamodb:DescribeStream',
        'dynamodb:GetRecords',
        'dynamodb:GetShardIterator',
      ];
      const STREAM_FAILURES = ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'];

      const actionsOf = (name: string) => {
        const role = logicalId(cognito.stateless.services.functions[name]!.role);
        const policies = cognito.api.findResources('AWS::IAM::Policy', {
          Properties: { Roles: Match.arrayWith([{ Ref: role }]) },
        });
        return new Set(
          Object.values(policies).flatMap((policy) =>
            (policy.Properties.PolicyDocument.Statement as { Action: string | string[] }[]).flatMap(
              (s) => s.Action,
            ),
          ),
        );
      };

      it.each(Object.keys(declaration.functions))('%s has exactly its declared actions', (name) => {
        const decl = declaration.functions[name]!;
        const isConsumer = consumerFns.has(name);
        const expected = new Set([
          ...LOGS_AND_TRACES,
          ...(decl.table === 'none' ? [] : READ),
          ...(decl.table === 'readWrite' || decl.table === 'readWriteBatch' ? WRITE : []),
          ...(decl.table === 'readWriteBatch' ? ['dynamodb:BatchWriteItem'] : []),
          ...(decl.putEvents ? ['events:PutEvents'] : []),
          ...(asyncInvoked.has(name) ? ['sqs:SendMessage'] : []),
          ...(isConsumer ? [...STREAM, ...STREAM_FAILURES] : []),
        ]);
        expect(actionsOf(name)).toEqual(expected);
      });

      it('gives table "none" functions no table action, "read" functions no write', () => {
        for (const [name, decl] of Object.entries(declaration.functions)) {
          const table = [...actionsOf(name)].filter((a) => a.startsWith('dynamodb:') && !STREAM.includes(a));
          if (decl.table === 'none') expect(table, name).toEqual([]);
          if (decl.table === 'read')
            expect(
              table.filter((a) => WRITE.includes(a)),
              name,
            ).toEqual([]);
        }
        expect(declaration.functions.system?.table).toBe('none');
        expect([...actionsOf('system')].filter((a) => a.startsWith('dynamodb:'))).toEqual([]);
      });

      it('lets only publishers put events and only the stream consumer read the stream', () => {
        for (const [name, decl] of Object.entries(declaration.functions)) {
          const actions = actionsOf(name);
          expect(actions.has('events:PutEvents'), name).toBe(decl.putEvents === true);
          expect(actions.has('dynamodb:GetRecords'), name).toBe(consumerFns.has(name));
        }
      });

      it('grants no wildcard action anywhere', () => {
        for (const template of [cognito.data, cognito.api]) {
          for (const [id, policy] of resourcesOf(template, 'AWS::IAM::Policy')) {
            const statements = (
              policy.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] }
            ).Statement;
            expect(
              statements.flatMap((s) => s.Action).filter((a) => a.includes('*')),
              id,
            ).toEqual([]);
          }
        }
      });

      it('names the table and each index, never `index/*`', () => {
        const policies = JSON.stringify(cognito.api.findResources('AWS::IAM::Policy'));
        expect(policies).not.toContain('/index/*');
        for (const index of tableDefinition.globalSecondaryIndexes)
          expect(policies).toContain(`/index/${index.indexName}`);
      });
    });
  });

  describe('HTTP API', () => {
    const routesOf = (template: Template) =>
      new Map(
        resourcesOf(template, 'AWS::ApiGatewayV2::Route').map(([, r]) => [
          r.Properties.RouteKey as string,
          r.Properties,
        ]),
      );

    it('has one route per declared route key, exactly as declared', () => {
      expect([...routesOf(cognito.api).keys()].sort()).toEqual(Object.keys(declaration.routes).sort());
    });

    it('integrates each route with its function, through one integration per function', () => {
      const integrations = new Map(
        resourcesOf(cognito.api, 'AWS::ApiGatewayV2::Integration').map(([id, i]) => [id, i.Properties]),
      );
      const routeFunctions = new Set(Object.values(declaration.routes).map((r) => r.fn));
      expect(integrations.size).toBe(routeFunctions.size);
      for (const [key, route] of routesOf(cognito.api)) {
        const integrationId = (route.Target as { 'Fn::Join': [string, [string, { Ref: string }]] })[
          'Fn::Join'
        ][1][1].Ref;
        const fn = cognito.stateless.services.functions[declaration.routes[key]!.fn]!;
        expect(integrations.get(integrationId), key).toMatchObject({
          IntegrationType: 'AWS_PROXY',
          PayloadFormatVersion: '2.0',
          IntegrationUri: { 'Fn::GetAtt': [logicalId(fn.fn), 'Arn'] },
        });
      }
    });

    it('puts the JWT authorizer on every jwt route and on no public or signature route', () => {
      const [[authorizerId]] = resourcesOf(cognito.api, 'AWS::ApiGatewayV2::Authorizer') as [
        [string, Resource],
      ];
      const routes = routesOf(cognito.api);
      for (const [key, decl] of Object.entries(declaration.routes)) {
        const route = routes.get(key)!;
        if (decl.auth === 'jwt') {
          expect(route, key).toMatchObject({ AuthorizationType: 'JWT', AuthorizerId: { Ref: authorizerId } });
        } else {
          expect(route.AuthorizationType, key).toBe('NONE');
          expect(route.AuthorizerId, key).toBeUndefined();
        }
      }
      for (const open of ['GET /v1/health', 'GET /v1/openapi.json', 'GET /v1/events.json', SIGNED_ROUTE]) {
        expect(routes.get(open)?.AuthorizationType, open).toBe('NONE');
      }
    });

    it("checks Cognito tokens against the pool's issuer, with the app client as audience", () => {
      const identity = cognito.stateful.identity!;
      cognito.api.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        AuthorizerType: 'JWT',
        IdentitySource: ['$request.header.Authorization'],
        JwtConfiguration: {
          Issuer: {
            'Fn::Join': [
              '',
              [
                'https://cognito-idp.',
                { Ref: 'AWS::Region' },
                '.amazonaws.com/',
                { Ref: logicalId(identity.userPool) },
              ],
            ],
          },
          Audience: [{ Ref: logicalId(identity.client) }],
        },
      });
    });

    it('checks external tokens against the issuer and audiences given at deploy time', () => {
      if (EXTERNAL_ISSUER.kind !== 'oidc') throw new Error('unreachable');
      external.api.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        JwtConfiguration: { Issuer: EXTERNAL_ISSUER.issuer, Audience: [...EXTERNAL_ISSUER.audience] },
      });
    });

    it('logs every request as JSON on the default stage, and throttles it', () => {
      const [[, stage]] = resourcesOf(cognito.api, 'AWS::ApiGatewayV2::Stage') as [[string, Resource]];
      expect(stage.Properties).toMatchObject({
        StageName: '$default',
        AutoDeploy: true,
        DefaultRouteSettings: {
          ThrottlingRateLimit: expect.any(Number),
          ThrottlingBurstLimit: expect.any(Number),
        },
        AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [expect.stringMatching(/AccessLogs/), 'Arn'] } },
      });
      const format = JSON.parse((stage.Properties.AccessLogSettings as { Format: string }).Format);
      expect(format).toMatchObject({ requestId: '$context.requestId', routeKey: '$context.routeKey' });
    });
  });

  describe('schedules, event rules and the table stream', () => {
    it.each(Object.entries(declaration.schedules))(
      'schedule %s runs as declared, with a DLQ and retries',
      (name, decl) => {
        const fn = cognito.stateless.services.functions[decl.fn]!;
        cognito.api.hasResourceProperties('AWS::Scheduler::Schedule', {
          ScheduleExpression: decl.expression,
          Target: {
            Arn: { 'Fn::GetAtt': [logicalId(fn.fn), 'Arn'] },
            Input: JSON.stringify({ scheduledTime: '<aws.scheduler.scheduled-time>', schedule: name }),
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('Queue'), 'Arn'] } },
            RetryPolicy: {
              MaximumRetryAttempts: Match.anyValue(),
              MaximumEventAgeInSeconds: Match.anyValue(),
            },
            RoleArn: Match.anyValue(),
          },
        });
      },
    );

    it.each(Object.entries(declaration.eventRules))(
      'rule %s matches the declared pattern on the bus, with a DLQ',
      (_, decl) => {
        const fn = cognito.stateless.services.functions[decl.fn]!;
        cognito.api.hasResourceProperties('AWS::Events::Rule', {
          EventBusName: Match.anyValue(),
          EventPattern: { source: [...decl.source], 'detail-type': [...decl.detailType] },
          Targets: [
            Match.objectLike({
              Arn: { 'Fn::GetAtt': [logicalId(fn.fn), 'Arn'] },
              DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('Queue'), 'Arn'] } },
              RetryPolicy: {
                MaximumRetryAttempts: Match.anyValue(),
                MaximumEventAgeInSeconds: Match.anyValue(),
              },
            }),
          ],
        });
      },
    );

    it('gives functions invoked asynchronously a dead-letter queue, and the others none', () => {
      for (const [name, fn] of Object.entries(cognito.stateless.services.functions)) {
        const properties = (cognito.api.findResources('AWS::Lambda::Function')[logicalId(fn.fn)] as Resource)
          .Properties;
        expect(properties.DeadLetterConfig !== undefined, name).toBe(asyncInvoked.has(name));
      }
    });

    it('feeds each stream consumer only the records of its filter, in order, reporting failed items', () => {
      const mappings = resourcesOf(cognito.api, 'AWS::Lambda::EventSourceMapping');
      const consumers = Object.values(declaration.streamConsumers);
      expect(mappings.map(([, m]) => m.Properties.FunctionName)).toEqual(
        consumers.map((c) => ({ Ref: logicalId(cognito.stateless.services.functions[c.fn]!.fn) })),
      );
      for (const [index, [, mapping]] of mappings.entries()) {
        expect(mapping.Properties).toMatchObject({
          StartingPosition: 'TRIM_HORIZON',
          BatchSize: consumers[index]!.batchSize,
          BisectBatchOnFunctionError: true,
          FunctionResponseTypes: ['ReportBatchItemFailures'],
          DestinationConfig: {
            OnFailure: { Destination: { 'Fn::GetAtt': [expect.stringMatching(/Queue/), 'Arn'] } },
          },
        });
        expect(mapping.Properties.MaximumRetryAttempts).toBeGreaterThan(0);
      }
      const patterns = mappings.map(([, m]) =>
        (m.Properties.FilterCriteria as { Filters: { Pattern: string }[] }).Filters.map((f) =>
          JSON.parse(f.Pattern),
        ),
      );
      expect(patterns).toEqual([
        [{ eventName: ['INSERT'], dynamodb: { Keys: { pk: { S: [{ prefix: 'EV#' }] } } } }],
        [{ dynamodb: { Keys: { pk: { S: [{ prefix: 'FA#' }] }, sk: { S: [{ prefix: 'M#' }] } } } }],
      ]);
    });

    it('lets the roll-up consumer touch only roll-ups and its markers', () => {
      const role = logicalId(cognito.stateless.services.functions.funnelRollups!.role);
      const policies = cognito.api.findResources('AWS::IAM::Policy', {
        Properties: { Roles: Match.arrayWith([{ Ref: role }]) },
      });
      const statements = Object.values(policies).flatMap(
        (policy) =>
          policy.Properties.PolicyDocument.Statement as {
            Action: string | string[];
            Condition?: unknown;
            Resource: unknown;
          }[],
      );
      const table = statements.filter((s) =>
        [s.Action].flat().some((a) => a === 'dynamodb:PutItem' || a === 'dynamodb:GetItem'),
      );
      expect(table).toHaveLength(2);
      for (const statement of table) {
        expect(statement.Condition).toEqual({
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['FR#*', 'FRAPPLIED#*'] },
        });
        expect(JSON.stringify(statement.Resource)).not.toContain('/index/');
      }
    });

    it('encrypts every dead-letter queue and refuses plain-HTTP access to it', () => {
      const queues = resourcesOf(cognito.api, 'AWS::SQS::Queue');
      expect(queues.length).toBeGreaterThan(0);
      for (const [id, queue] of queues) expect(queue.Properties.SqsManagedSseEnabled, id).toBe(true);
      cognito.api.allResourcesProperties('AWS::SQS::QueuePolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });
    it('alarms on every dead-letter queue as soon as a message waits, on one encrypted alarm topic', () => {
      const queues = resourcesOf(cognito.api, 'AWS::SQS::Queue').map(([id]) => id);
      const alarms = resourcesOf(cognito.api, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);
      const topics = resourcesOf(cognito.api, 'AWS::SNS::Topic');
      expect(topics).toHaveLength(1);
      const [topicId, topic] = topics[0]!;
      expect(topic.Properties.KmsMasterKeyId).toEqual({
        'Fn::GetAtt': [expect.stringMatching(/AlarmsKey/), 'Arn'],
      });
      cognito.api.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
      cognito.api.hasOutput('AlarmTopicArn', { Value: { Ref: topicId } });
      const alarmed = alarms.map((alarm) => {
        expect(alarm).toMatchObject({
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Namespace: 'AWS/SQS',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          EvaluationPeriods: 1,
          TreatMissingData: 'notBreaching',
          AlarmActions: [{ Ref: topicId }],
        });
        const [dimension] = alarm.Dimensions as { Value: { 'Fn::GetAtt': [string, string] } }[];
        return dimension!.Value['Fn::GetAtt'][0];
      });
      expect(alarmed.sort()).toEqual([...queues].sort());
    });
  });

  describe('cdk-nag', () => {
    it('finds nothing unacknowledged in the AwsSolutions and Serverless packs, with Cognito or not', () => {
      expect(nagFindings(cognito.app)).toEqual([]);
      expect(nagFindings(external.app)).toEqual([]);
    });

    it('does flag a stack that breaks the rules (the packs really run)', () => {
      const app = new App({ context: SKIP_BUNDLING });
      const stack = new Stack(app, 'NonCompliant');
      new sqs.Queue(stack, 'PlainQueue');
      new lambda.Function(stack, 'OldRuntime', {
        runtime: lambda.Runtime.NODEJS_20_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => {};'),
      });
      const rules = nagFindings(app).map((finding) => finding.split(' ')[0]);
      expect(rules).toEqual(
        expect.arrayContaining([
          'AwsSolutions-SQS4',
          'AwsSolutions-L1',
          'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          'Serverless-LambdaDLQ',
          'Serverless-SQSRedrivePolicy',
        ]),
      );
    });

    it('fails the synth of a non-compliant app and passes ours, as `cdk synth` does', () => {
      const bad = new App({ context: SKIP_BUNDLING });
      new sqs.Queue(new Stack(bad, 'NonCompliant'), 'PlainQueue');
      Validations.of(bad).addPlugins(new AwsSolutionsChecks(bad), new ServerlessChecks(bad));
      expect(() => bad.synth()).toThrow(/AwsSolutions-SQS4/);

      const ours = new App({ context: SKIP_BUNDLING });
      createSiyu(ours, { auth: { kind: 'cognito' }, declaration });
      Validations.of(ours).addPlugins(new AwsSolutionsChecks(ours), new ServerlessChecks(ours));
      expect(() => ours.synth()).not.toThrow();
    });
  });
});

describe('bundling', () => {
  let outdir: string;

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'siyu-bundle-'));
  });
  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
  });

  it('bundles the system function offline into an ESM file that loads and answers GET /v1/health', () => {
    const app = new App({ outdir });
    const stack = new Stack(app, 'Bundle');
    const system = declaration.functions.system!;
    new SiyuFunction(stack, 'System', { entry: system.entry, description: system.description });
    app.synth();

    const [assetDir] = readdirSync(outdir).filter((name) => name.startsWith('asset.'));
    const bundle = join(outdir, assetDir!, 'index.mjs');
    expect(existsSync(`${bundle}.map`)).toBe(true);
    expect(readFileSync(bundle, 'utf8')).toContain('createRequire');

    const invoke = `
      const { handler } = await import(${JSON.stringify(bundle)});
      const event = { version: '2.0', routeKey: 'GET /v1/health', rawPath: '/v1/health', rawQueryString: '',
        headers: {}, isBase64Encoded: false, requestContext: { http: { method: 'GET', path: '/v1/health' }, requestId: 'r' } };
      const context = { awsRequestId: 'r', functionName: 'system', getRemainingTimeInMillis: () => 10000 };
      console.log(JSON.stringify(await handler(event, context)));`;
    const output = execFileSync(
      process.execPath,
      ['--enable-source-maps', '--input-type=module', '-e', invoke],
      {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, POWERTOOLS_SERVICE_NAME: 'siyu', POWERTOOLS_LOG_LEVEL: 'ERROR' },
      },
    );
    const response = JSON.parse(output.trim().split('\n').at(-1)!);
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ status: 'ok' });
  });
});
