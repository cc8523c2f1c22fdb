import { ErrorCodes, ValidationError } from '@xe/core-types';
import type { z } from 'zod';

/**
 * A schema failure as core-types' coded error, the way the node words its 400s: the
 * first issue, its field as a dotted path (`attestations.0.public_key`), and a code —
 * `UNKNOWN_FIELD` for a field the schema does not allow, `MISSING_FIELD` for an absent
 * one, `UNKNOWN_BLOCK_TYPE`, the code a schema attached (`OVERFLOW`, `INVALID_MEMO`,
 * `INVALID_RESOURCES`), else `INVALID_FIELD`. The server answers it; the client raises it
 * for an input it refuses to send. `input` is the value that was checked.
 */
export function contractError(error: z.ZodError, input: unknown, what = 'body'): ValidationError {
  const issue = error.issues[0];
  if (issue === undefined) return new ValidationError(ErrorCodes.INVALID_FIELD, `${what}: invalid`, { field: what });
  const path = issue.path.map(String);
  const at = path.length === 0 ? what : path.join('.');
  if (issue.code === 'unrecognized_keys') {
    const field = [...path, issue.keys[0] ?? ''].join('.');
    return new ValidationError(ErrorCodes.UNKNOWN_FIELD, `${field}: field not allowed`, { field });
  }
  const xeCode = issue.code === 'custom' ? (issue.params as { xeCode?: string } | undefined)?.xeCode : undefined;
  if (xeCode !== undefined) return new ValidationError(xeCode, `${at}: ${issue.message}`, { field: at });
  if (path.length > 0 && valueAt(input, path) === undefined) {
    return new ValidationError(ErrorCodes.MISSING_FIELD, `${at}: is required`, { field: at });
  }
  if (issue.code === 'invalid_union' && 'discriminator' in issue && issue.discriminator === 'type') {
    return new ValidationError(ErrorCodes.UNKNOWN_BLOCK_TYPE, 'type: unknown block type', { field: 'type' });
  }
  return new ValidationError(ErrorCodes.INVALID_FIELD, `${at}: ${issue.message}`, { field: at });
}

function valueAt(input: unknown, path: string[]): unknown {
  let v = input;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}
