/**
 * Named domain errors. Use cases throw these; `shared/http/problem.ts` is the one place that
 * maps them (and anything else) to RFC 9457 problem details.
 */
export interface FieldError {
  path: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly status: number;
  abstract readonly title: string;
  readonly errors?: FieldError[];
  readonly headers?: Record<string, string>;

  constructor(detail: string, errors?: FieldError[]) {
    super(detail);
    this.name = new.target.name;
    if (errors) this.errors = errors;
  }
}

/** The `Retry-After` header of an error the client should send again after a pause. */
const retryAfter = (seconds: number) => ({ 'Retry-After': String(seconds) });

export class ValidationError extends DomainError {
  readonly status = 400;
  readonly title = 'Invalid request';
}

export class UnauthorizedError extends DomainError {
  readonly status = 401;
  readonly title = 'Unauthorized';
}

export class ForbiddenError extends DomainError {
  readonly status = 403;
  readonly title = 'Forbidden';
}

export class NotFoundError extends DomainError {
  readonly status = 404;
  readonly title = 'Not found';
}

export class ConflictError extends DomainError {
  readonly status = 409;
  readonly title: string = 'Conflict';
}

/**
 * The first request with this `Idempotency-Key` has not finished: its own problem type
 * (`…/request-in-progress`) and `Retry-After`, so a client knows to send the same request again.
 */
export class RequestInProgressError extends ConflictError {
  override readonly title = 'Request in progress';
  override readonly headers: Record<string, string>;
  constructor(detail: string, retryAfterSeconds = 1) {
    super(detail);
    this.headers = retryAfter(retryAfterSeconds);
  }
}

export class PayloadTooLargeError extends DomainError {
  readonly status = 413;
  readonly title = 'Payload too large';
}

export class UnprocessableError extends DomainError {
  readonly status = 422;
  readonly title = 'Unprocessable request';
}

export class UnsupportedMediaTypeError extends DomainError {
  readonly status = 415;
  readonly title = 'Unsupported media type';
}

/** A transient overload (throttling, timeouts): the caller should retry after a pause. */
export class ServiceUnavailableError extends DomainError {
  readonly status = 503;
  readonly title = 'Service unavailable';
  override readonly headers: Record<string, string>;
  constructor(detail = 'The service is busy; retry shortly.', retryAfterSeconds = 1) {
    super(detail);
    this.headers = retryAfter(retryAfterSeconds);
  }
}

const transientNames = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'ThrottledException',
  'TooManyRequestsException',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/** True for AWS SDK faults that a retry may cure (throttling, timeouts, 5xx of the service). */
const transientCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

export function isTransientAwsError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (transientNames.has(error.name)) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && transientCodes.has(code)) return true;
  const meta = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  const retryable = (error as { $retryable?: unknown }).$retryable;
  return Boolean(retryable) || (meta?.httpStatusCode !== undefined && meta.httpStatusCode >= 500);
}
