/**
 * What a destination is sent: `{ "execution": <Execution> }`, the record as the API returns it
 * (internal bookkeeping stripped), as JSON. The same text at every attempt of a delivery.
 */
import type { Execution } from '../../common/records.js';

export function destinationPayload(e: Execution): string {
  const { lease: _lease, retryAt: _retryAt, ...execution } = e;
  return JSON.stringify({ execution });
}
