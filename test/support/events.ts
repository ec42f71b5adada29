import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/** An API Gateway HTTP API v2 event, as the authorizer would pass it, for handler-level tests. */
export function httpEvent(
  routeKey: string,
  options: {
    path?: string;
    body?: string | Buffer;
    claims?: Record<string, unknown>;
    headers?: Record<string, string>;
    pathParameters?: Record<string, string>;
    query?: Record<string, string>;
  } = {},
): APIGatewayProxyEventV2 {
  const [method, template] = routeKey.split(' ') as [string, string];
  const body = options.body;
  return {
    version: '2.0',
    routeKey,
    rawPath: options.path ?? template,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    headers: options.headers ?? {},
    ...(options.query ? { queryStringParameters: options.query } : {}),
    ...(options.pathParameters ? { pathParameters: options.pathParameters } : {}),
    ...(body !== undefined
      ? {
          body: Buffer.isBuffer(body) ? body.toString('base64') : body,
          isBase64Encoded: Buffer.isBuffer(body),
        }
      : { isBase64Encoded: false }),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: {
        method,
        path: options.path ?? template,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'test',
      },
      requestId: 'req-1',
      routeKey,
      stage: '$default',
      time: '',
      timeEpoch: 0,
      ...(options.claims ? { authorizer: { jwt: { claims: options.claims, scopes: [] } } } : {}),
    },
  } as APIGatewayProxyEventV2;
}

export const lambdaContext = {
  awsRequestId: 'req-1',
  getRemainingTimeInMillis: () => 30_000,
} as never;
