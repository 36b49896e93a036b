/**
 * What the gateway and the scheduler share about a SigV4-signed request (docs/SECURITY-KEYS.md,
 * "SigV4"): the parts the gateway reads off the request and the scheduler signs again, why one
 * is refused, and the replay window both of them hold it to.
 */

/** A SigV4-signed request as the gateway received it. */
export interface SignedRequest {
  /** `tfk_<id>`. */
  accessKeyId: string;
  method: string;
  /** The path as sent, still percent-encoded. */
  path: string;
  /** The query string as sent, without `?`. */
  query: string;
  /** The signed headers, lower-case names, as sent. */
  headers: Readonly<Record<string, string>>;
  /** `SignedHeaders=` of the authorization header, lower-case, `;`-separated. */
  signedHeaders: string;
  /** `<yyyymmdd>/<region>/<service>/aws4_request` of `Credential=`. */
  credentialScope: string;
  /** x-amz-date, `yyyymmddThhmmssZ`. */
  amzDate: string;
  /** Hex SHA-256 of the body the gateway received. */
  payloadHash: string;
  /** Hex `Signature=`. */
  signature: string;
}

/** `signature`: no such key or a wrong secret (never which); `no_signing_secret`: the key was made before keys could sign. */
export type SignatureRefusal = 'signature' | 'no_signing_secret' | 'expired';

/** The replay window: a signature's x-amz-date may be this far from now, either way. */
export const SIGV4_WINDOW_MS = 15 * 60 * 1000;
