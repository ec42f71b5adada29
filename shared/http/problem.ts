import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type * as z from 'zod/mini';
import { DomainError, isTransientAwsError, ServiceUnavailableError } from '../errors.js';
import { logger } from '../logger.js';

const PROBLEM_TYPE_BASE = 'https://siyu.dev/problems/';

/** The one place errors become RFC 9457 problem details. Unknown errors never leak detail. */
export function toProblem(error: unknown): APIGatewayProxyStructuredResultV2 {
  let domain: DomainError;
  if (error instanceof DomainError) {
    domain = error;
  } else if (isTransientAwsError(error)) {
    logger.warn('transient fault', { errorName: (error as Error).name });
    domain = new ServiceUnavailableError();
  } else {
    logger.error('unhandled error', { errorName: (error as Error)?.name, stack: (error as Error)?.stack });
    return problemResponse(500, 'Internal error', 'The request could not be completed.');
  }
  return problemResponse(domain.status, domain.title, domain.message, domain.errors, domain.headers);
}

export function problemResponse(
  status: number,
  title: string,
  detail: string,
  errors?: { path: string; message: string }[],
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/problem+json', ...headers },
    body: JSON.stringify({
      type: `${PROBLEM_TYPE_BASE}${slug(title)}`,
      title,
      status,
      detail,
      ...(errors?.length ? { errors } : {}),
    }),
  };
}

/** One entry per bad field, paths in dotted form (`contacts.3.phone`). */
export function zodFieldErrors(error: z.core.$ZodError, prefix = ''): { path: string; message: string }[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: joinPath(prefix, [...issue.path, key]),
        message: 'unknown field',
      }));
    }
    return [{ path: joinPath(prefix, issue.path), message: issue.message }];
  });
}

function joinPath(prefix: string, path: readonly PropertyKey[]): string {
  const parts = [prefix, ...path.map(String)].filter((p) => p !== '');
  return parts.length ? parts.join('.') : '(body)';
}

function slug(title: string): string {
  return title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}
