/**
 * Functions and their immutable versions. Every change is durable before it is answered.
 * A deleted function keeps its file (marked deleted) so that version numbers are never
 * reused for a name: a warm sandbox of "name@3" must always mean the same code.
 */
import { randomBytes } from 'node:crypto';
import { assertPublicWebhook } from '../common/destination.js';
import { TaskForgeError, functionNotFound } from '../common/errors.js';
import { normalizeSpec, sameSpec, sha256 } from '../common/function-spec.js';
import { assertFunctionName } from '../common/names.js';
import type { FunctionInfo, FunctionSpec, FunctionVersion } from '../common/records.js';
import type { Store, StoredFunction } from './store/types.js';

export interface StoredFunctionWithTombstone extends StoredFunction {
  deletedAt?: string | null;
}

/** The registration's code check: throws INVALID_CODE, or says how the code is evaluated. */
export type CodeChecker = (code: string, handler: string) => unknown;

export function toInfo(v: FunctionVersion, includeCode = false): FunctionInfo {
  const { code, format: _format, ...info } = v;
  return includeCode ? { ...info, code } : info;
}

function formatOf(checked: unknown): FunctionVersion['format'] {
  const format = (checked as { format?: unknown } | null | undefined)?.format;
  return format === 'esm' || format === 'cjs' ? format : undefined;
}

export class FunctionRegistry {
  private readonly functions = new Map<string, StoredFunctionWithTombstone>();
  /** Writes per name are serialised so two PUTs cannot both become version N. */
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly listeners = new Set<() => void>();
  /** Moves on every change (load, new version, delete): what is derived from the functions rebuilds then. */
  generation = 0;
  /** Webhook URLs may name private and loopback addresses (the scheduler's --allow-private-webhooks). */
  allowPrivateWebhooks = false;

  constructor(
    private readonly store: Store,
    private readonly checkCode: CodeChecker,
    private readonly now: () => Date = () => new Date(),
  ) {}

  load(functions: StoredFunction[]): void {
    for (const fn of functions) this.functions.set(fn.name, fn);
    this.changed();
  }

  /** Calls `listener` after every change (topic subscriptions and cron timers follow the functions). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The latest version of every live function. */
  latestVersions(): FunctionVersion[] {
    const out: FunctionVersion[] = [];
    for (const fn of this.functions.values()) if (!fn.deletedAt && fn.versions.length > 0) out.push(fn.versions[fn.versions.length - 1]!);
    return out;
  }

  /** The live (not deleted) function, or undefined. */
  live(name: string): StoredFunctionWithTombstone | undefined {
    const fn = this.functions.get(name);
    return fn && !fn.deletedAt && fn.versions.length > 0 ? fn : undefined;
  }

  latest(name: string): FunctionVersion {
    const fn = this.live(name);
    if (!fn) throw functionNotFound(name);
    return fn.versions[fn.versions.length - 1]!;
  }

  /** A specific version of a live function (0 = latest). */
  resolve(name: string, version: number): FunctionVersion {
    const fn = this.live(name);
    if (!fn) throw functionNotFound(name);
    if (version === 0) return fn.versions[fn.versions.length - 1]!;
    const v = fn.versions.find((x) => x.version === version);
    if (!v) throw new TaskForgeError('FUNCTION_NOT_FOUND', `function '${name}' has no version ${version}`, { reason: 'not_found', name, version });
    return v;
  }

  /** Any version ever stored, deleted or not (running executions still need their code). */
  anyVersion(name: string, version: number): FunctionVersion | undefined {
    return this.functions.get(name)?.versions.find((x) => x.version === version);
  }

  list(): FunctionInfo[] {
    const out: FunctionInfo[] = [];
    for (const fn of this.functions.values()) {
      if (!fn.deletedAt && fn.versions.length > 0) out.push(toInfo(fn.versions[fn.versions.length - 1]!));
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  versions(name: string): FunctionInfo[] {
    const fn = this.live(name);
    if (!fn) throw functionNotFound(name);
    return fn.versions.map((v) => toInfo(v)).reverse();
  }

  async put(name: string, rawSpec: unknown, createOnly: boolean): Promise<{ version: FunctionVersion; created: boolean }> {
    assertFunctionName(name);
    const spec = normalizeSpec(rawSpec, name);
    assertPublicWebhook('onSuccess', spec.onSuccess, this.allowPrivateWebhooks);
    assertPublicWebhook('onFailure', spec.onFailure, this.allowPrivateWebhooks);
    const checked = this.checkCode(spec.code, spec.handler);
    const format = formatOf(checked);
    return this.serialise(name, async () => {
      const existing = this.functions.get(name);
      const live = existing && !existing.deletedAt && existing.versions.length > 0 ? existing : undefined;
      if (live && createOnly) throw new TaskForgeError('FUNCTION_EXISTS', `function '${name}' already exists`, { reason: 'exists', name });
      if (live) {
        const latest = live.versions[live.versions.length - 1]!;
        if (sameSpec(latest, spec)) return { version: latest, created: false };
      }
      const now = this.now().toISOString();
      const versions = existing?.versions ?? [];
      const lastVersion = versions.length > 0 ? versions[versions.length - 1]!.version : 0;
      const createdAt = live ? live.versions[0]!.createdAt : now;
      // One secret per function, kept across versions so receivers need not follow deploys.
      const earlierSecret = live?.versions[live.versions.length - 1]!.webhookSecret;
      const needsSecret = [spec.onSuccess, spec.onFailure].some((d) => d && 'url' in d);
      const secret = earlierSecret ?? (needsSecret ? `whsec_${randomBytes(24).toString('hex')}` : undefined);
      const version = { ...this.makeVersion(name, spec, lastVersion + 1, createdAt, now, format), ...(secret !== undefined && { webhookSecret: secret }) };
      const next: StoredFunctionWithTombstone = { name, versions: [...versions, version], deletedAt: null };
      await this.store.putFunction(next);
      this.functions.set(name, next);
      this.changed();
      return { version, created: true };
    });
  }

  async delete(name: string): Promise<void> {
    assertFunctionName(name);
    await this.serialise(name, async () => {
      const fn = this.live(name);
      if (!fn) throw functionNotFound(name);
      const next: StoredFunctionWithTombstone = { ...fn, deletedAt: this.now().toISOString() };
      await this.store.putFunction(next);
      this.functions.set(name, next);
      this.changed();
    });
  }

  private changed(): void {
    this.generation += 1;
    for (const listener of this.listeners) listener();
  }

  private makeVersion(name: string, spec: FunctionSpec, version: number, createdAt: string, now: string, format: FunctionVersion['format']): FunctionVersion {
    return {
      name,
      version,
      code: spec.code,
      handler: spec.handler,
      runtime: spec.runtime,
      timeoutMs: spec.timeoutMs,
      memoryMb: spec.memoryMb,
      maxRetries: spec.maxRetries,
      concurrency: spec.concurrency,
      maxQueueMs: spec.maxQueueMs,
      env: spec.env,
      description: spec.description,
      ...(spec.triggers && { triggers: spec.triggers }),
      ...(spec.circuitBreaker && { circuitBreaker: spec.circuitBreaker }),
      ...(spec.cacheTtlMs && { cacheTtlMs: spec.cacheTtlMs }),
      ...(spec.onSuccess && { onSuccess: spec.onSuccess }),
      ...(spec.onFailure && { onFailure: spec.onFailure }),
      codeSha256: sha256(spec.code),
      codeBytes: Buffer.byteLength(spec.code),
      createdAt,
      updatedAt: now,
      ...(format && { format }),
    };
  }

  private async serialise<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(name, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    }
  }
}
