/**
 * The scheduler's door: a grpc-js server interceptor in front of every method of every service,
 * unary and streaming alike, so no handler (nor one added later) can forget the check.
 * A WorkerService call must carry the join token, a ControlService call the control token
 * (`authorization: Bearer <token>`); anything else — no header, a malformed one, a wrong token,
 * the other service's token, an unknown service — is ended with UNAUTHENTICATED before the
 * handler runs, so the caller gets nothing: no Welcome, no data. The answer never says which
 * part was wrong. Refusals are logged, at most one line a second (with how many were folded
 * into it), so a flood of bad calls cannot flood the log.
 */
import {
  Metadata,
  ServerInterceptingCall,
  status,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerMethodDefinition,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { AUTH_HEADER, bearerToken } from '../common/grpc-auth.js';
import { REASON } from '../common/logger.js';
import type { CredentialKind, Credentials } from './credentials.js';

export interface AuthInterceptorOptions {
  credentials: Pick<Credentials, 'verify'>;
  /** Service path prefix (`/pkg.Service/`) → the token its callers must hold. */
  services: Readonly<Record<string, CredentialKind>>;
  log: Logger;
  now?: () => number;
}

/** `/taskforge.v1.WorkerService/Connect` → `/taskforge.v1.WorkerService/`. */
export const servicePrefix = (methodPath: string): string => methodPath.slice(0, methodPath.lastIndexOf('/') + 1);

const REFUSAL: Record<CredentialKind, string> = {
  join: 'a valid join token is required (metadata authorization: Bearer <token>)',
  control: 'a valid control token is required (metadata authorization: Bearer <token>)',
};

export function createAuthInterceptor(opts: AuthInterceptorOptions): ServerInterceptor {
  const now = opts.now ?? Date.now;
  let lastLogAt = -Infinity;
  let folded = 0;
  const logRefusal = (fields: Record<string, unknown>): void => {
    const t = now();
    if (t - lastLogAt < 1000) {
      folded += 1;
      return;
    }
    opts.log.warn({ ...fields, reason: REASON.unauthenticated, ...(folded > 0 ? { folded } : {}) }, 'call refused: no valid token');
    lastLogAt = t;
    folded = 0;
  };

  const check = (kind: CredentialKind | undefined, metadata: Metadata): 'ok' | 'missing' | 'malformed' | 'wrong' | 'unknown_service' => {
    if (!kind) return 'unknown_service';
    const values = metadata.get(AUTH_HEADER);
    if (values.length === 0) return 'missing';
    const token = values.length === 1 ? bearerToken(values[0]) : null;
    if (token === null) return 'malformed';
    return opts.credentials.verify(kind, token) ? 'ok' : 'wrong';
  };

  return (method: ServerMethodDefinition<unknown, unknown>, call: ServerInterceptingCallInterface) => {
    const kind = opts.services[servicePrefix(method.path)];
    let refused = false;
    return new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, mdNext) {
            const verdict = check(kind, metadata);
            if (verdict === 'ok') {
              mdNext(metadata);
              return;
            }
            refused = true;
            logRefusal({ method: method.path, peer: call.getPeer(), why: verdict });
            call.sendStatus({ code: status.UNAUTHENTICATED, details: kind ? REFUSAL[kind] : 'unknown service', metadata: new Metadata() });
          },
          // The handler never started: nothing of a refused call is read.
          onReceiveMessage(message, msgNext) {
            if (!refused) msgNext(message);
          },
          onReceiveHalfClose(halfNext) {
            if (!refused) halfNext();
          },
        });
      },
    });
  };
}
