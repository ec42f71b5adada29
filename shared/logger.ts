import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One structured logger. Log ids, routes, statuses and counts — never names, phones, emails,
 * WeChat ids, tags, request bodies or secrets.
 */
export const logger = new Logger({ serviceName: 'siyu' });
