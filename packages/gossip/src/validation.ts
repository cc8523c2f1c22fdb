import { TopicValidatorResult } from '@libp2p/gossipsub';
import type { JsonValue } from '@xe/core-types';

/** What a topic validator decides (SPEC §9). */
export type ValidationAction = 'accept' | 'ignore' | 'reject';

export interface ValidationResult {
  action: ValidationAction;
  /** A short reason code, counted per topic (e.g. `bad_signature`, `unknown_dependency`). */
  reason?: string;
}

export interface MessageContext {
  /** The peer that relayed the message to us (the one whose score a REJECT lowers). */
  from: string;
  topic: string;
}

/**
 * Validates a decoded message before it is delivered or relayed. ACCEPT delivers and
 * relays; IGNORE drops silently (unknown dependency, duplicate); REJECT drops and
 * penalises the relaying peer (bad hash, signature, PoW, shape).
 */
export type Validator<T extends JsonValue = JsonValue> = (
  msg: T,
  ctx: MessageContext,
) => ValidationResult | Promise<ValidationResult>;

export type MessageHandler<T extends JsonValue = JsonValue> = (msg: T, ctx: MessageContext) => void | Promise<void>;

export const ACCEPT: ValidationResult = Object.freeze({ action: 'accept' });
export function ignore(reason: string): ValidationResult {
  return { action: 'ignore', reason };
}
export function reject(reason: string): ValidationResult {
  return { action: 'reject', reason };
}

/** The one place a validator's action becomes libp2p's result. */
export function toTopicValidatorResult(result: ValidationResult): TopicValidatorResult {
  switch (result.action) {
    case 'accept':
      return TopicValidatorResult.Accept;
    case 'ignore':
      return TopicValidatorResult.Ignore;
    default:
      return TopicValidatorResult.Reject;
  }
}

/** Anything that is not a well-formed ValidationResult counts as a REJECT. */
export function normaliseResult(value: unknown): ValidationResult {
  if (value !== null && typeof value === 'object') {
    const action = (value as { action?: unknown }).action;
    const reason = (value as { reason?: unknown }).reason;
    if (action === 'accept' || action === 'ignore' || action === 'reject') {
      return typeof reason === 'string' && reason !== '' ? { action, reason: reason.slice(0, 64) } : { action };
    }
  }
  return { action: 'reject', reason: 'invalid_validator_result' };
}
