/**
 * How a gateway or worker proves itself to the scheduler: a bearer token in every call's
 * metadata (`authorization: Bearer <token>`) and, optionally, mutual TLS. Shared by both clients
 * and by the scheduler, which checks the same header (scheduler/auth-interceptor.ts).
 * It never logs, prints or puts a token into an error message.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import { Metadata, credentials, status, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';

/** A token as the scheduler makes it (47 characters) or an operator may choose: 32-512 printable, no spaces. */
export const TOKEN_RE = /^[\x21-\x7e]{32,512}$/;

export const AUTH_HEADER = 'authorization';

/** PEM files of an mTLS identity: this process's certificate and key, and the CA that signs the peers. */
export interface TlsFiles {
  cert: string;
  key: string;
  ca: string;
}

/** The same identity, read. */
export interface TlsIdentity {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

export function isToken(value: string): boolean {
  return TOKEN_RE.test(value);
}

/** Reads a token file (the token alone, trailing newline allowed); throws a message naming the file. */
export function readTokenFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read token file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  const token = text.trim();
  if (!isToken(token)) throw new Error(`token file ${path} does not hold a token (32-512 printable characters, no spaces)`);
  return token;
}

export function readTlsFiles(files: TlsFiles): TlsIdentity {
  const read = (what: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`cannot read TLS ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
  };
  return { cert: read('certificate', files.cert), key: read('key', files.key), ca: read('CA', files.ca) };
}

/** The SNI name sent when the scheduler is dialled by IP address (SNI may not carry an IP). */
export const IP_TARGET_SNI = 'taskforge-scheduler';

/** `host` of `host:port` or `[v6]:port`. */
export function hostOf(address: string): string {
  if (address.startsWith('[')) return address.slice(1, address.indexOf(']'));
  const colon = address.lastIndexOf(':');
  return colon < 0 ? address : address.slice(0, colon);
}

export interface ClientTransport {
  credentials: ChannelCredentials;
  /** Channel options the credentials need (merge them into the client's). */
  options: ChannelOptions;
}

/**
 * TLS to `address` trusting `ca`, with a client certificate when `key` and `cert` are given.
 * grpc-js puts the target host in the TLS ServerName, which Node 26 refuses for an IP address
 * (RFC 6066); dialled by IP, the ServerName is IP_TARGET_SNI instead and the scheduler's
 * certificate is still checked against the IP (it needs that IP in its subjectAltName).
 */
export function sslTransport(address: string, ca: Buffer, key?: Buffer, cert?: Buffer): ClientTransport {
  const host = hostOf(address);
  if (isIP(host) === 0) return { credentials: credentials.createSsl(ca, key ?? null, cert ?? null), options: {} };
  return {
    credentials: credentials.createSsl(ca, key ?? null, cert ?? null, { checkServerIdentity: (_sni, peer) => checkServerIdentity(host, peer) }),
    options: { 'grpc.ssl_target_name_override': IP_TARGET_SNI },
  };
}

/** A client's channel to `address`: mTLS with `tls`, else plaintext (loopback, or a trusted network). */
export function clientTransport(address: string, tls: TlsIdentity | null | undefined): ClientTransport {
  return tls ? sslTransport(address, tls.ca, tls.key, tls.cert) : { credentials: credentials.createInsecure(), options: {} };
}

/** Call metadata carrying `token`; empty without one. A fresh object per call: grpc-js may add to it. */
export function authMetadata(token: string | null | undefined): Metadata {
  const md = new Metadata();
  if (token) md.set(AUTH_HEADER, `Bearer ${token}`);
  return md;
}

/** The token of an `authorization` header value, or null when it is not `Bearer <token>`. */
export function bearerToken(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const m = /^Bearer ([\x21-\x7e]+)$/i.exec(value);
  return m ? m[1]! : null;
}

/** True for a gRPC error the scheduler sends a client whose credentials it did not accept. */
export function isAuthRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === status.UNAUTHENTICATED || code === status.PERMISSION_DENIED;
}
