/**
 * The TaskForge client: `import { TaskForgeClient } from 'taskforge'`. The public surface only.
 */
export { TaskForgeClient, DEFAULT_URL, type ClientOptions, type RequestOptions } from './client.js';
export { TaskForgeApiError, type ApiErrorCode } from './errors.js';
export { RETRY_DEFAULTS, type RetryOptions } from './retry.js';
export { SseParser, readSse, type SseEvent } from './sse.js';
export type { EventsOptions } from './streams.js';
export type * from './types.js';
