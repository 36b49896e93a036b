/**
 * A step's input template, resolved against the run: anywhere in the JSON (recursively), a string
 * `"$.input"` or `"$.steps.<id>.output"`, optionally followed by `.field` parts, is replaced by
 * that value (a missing field is null). Every other value is copied as it is. Pure.
 */
import { STEP_ID_RE } from '../../common/workflows.js';

export type Reference = { kind: 'input'; path: string[] } | { kind: 'step'; step: string; path: string[] };

export interface MappingContext {
  input: unknown;
  /** Outputs of the steps that succeeded, by id. */
  outputs: Readonly<Record<string, unknown>>;
}

const FIELD_RE = /^[A-Za-z0-9_$-]+$/;

/**
 * What a string refers to: a Reference, null when it is plain data, or an error text when it
 * starts like a reference (`$.input`, `$.steps.`) but is not a valid one.
 */
export function parseReference(s: string): Reference | null | string {
  if (s === '$.input' || s.startsWith('$.input.')) {
    const path = s === '$.input' ? [] : s.slice('$.input.'.length).split('.');
    return path.every((p) => FIELD_RE.test(p)) ? { kind: 'input', path } : `'${s}': a field name may hold only letters, digits, '_', '$' and '-'`;
  }
  if (!s.startsWith('$.steps.')) return null;
  const parts = s.slice('$.steps.'.length).split('.');
  const [step, output, ...path] = parts;
  if (step === undefined || !STEP_ID_RE.test(step) || output !== 'output') return `'${s}': a step reference is $.steps.<id>.output[.field…]`;
  if (!path.every((p) => FIELD_RE.test(p))) return `'${s}': a field name may hold only letters, digits, '_', '$' and '-'`;
  return { kind: 'step', step, path };
}

/** Every reference string in a template, with where it is (`input.a[2]`), in document order. */
export function collectReferences(template: unknown, at = 'input'): Array<{ at: string; ref: Reference | string }> {
  const out: Array<{ at: string; ref: Reference | string }> = [];
  const walk = (v: unknown, where: string): void => {
    if (typeof v === 'string') {
      const ref = parseReference(v);
      if (ref !== null) out.push({ at: where, ref });
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}[${i}]`));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${where}.${k}`);
  };
  walk(template, at);
  return out;
}

function pick(value: unknown, path: readonly string[]): unknown {
  let v = value;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return null;
    if (!Object.prototype.hasOwnProperty.call(v, p)) return null;
    v = (v as Record<string, unknown>)[p];
  }
  return v === undefined ? null : v;
}

/** The step input for `template` (undefined template: the run's input). */
export function resolveInput(template: unknown, ctx: MappingContext): unknown {
  if (template === undefined) return ctx.input ?? null;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const ref = parseReference(v);
      if (ref === null || typeof ref === 'string') return v;
      return ref.kind === 'input' ? pick(ctx.input, ref.path) : pick(ctx.outputs[ref.step] ?? null, ref.path);
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  return walk(template);
}
