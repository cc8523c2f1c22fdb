import type { Message } from '@libp2p/gossipsub';
import { GOSSIP_MAX_MESSAGE_BYTES, type JsonValue, parseJson, stringifyJson, TOPICS } from '@xe/core-types';
import type { NodeContext } from './context.js';
import { GossipError, GossipErrorCodes } from './errors.js';
import type { Hello } from './hello.js';
import { FairQueue, isDropped } from './fair-queue.js';
import {
  ignore,
  type MessageContext,
  type MessageHandler,
  normaliseResult,
  reject,
  toTopicValidatorResult,
  type ValidationResult,
  type Validator,
} from './validation.js';

interface TopicEntry {
  validator: Validator;
  handler: MessageHandler;
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** GossipSub topics: size, JSON and hello checks before the caller's validator; delivery to its handler; publishing. */
export class Topics {
  private readonly entries = new Map<string, TopicEntry>();
  private readonly parsed = new WeakMap<Message, JsonValue>();
  private readonly fair: FairQueue;

  constructor(
    private readonly ctx: NodeContext,
    private readonly hello: Hello,
  ) {
    this.fair = new FairQueue(ctx.options.validationLimits);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** Registers a topic (the node's own `xe/nodes` included); attached at once when running. */
  set(topic: string, validator: Validator, handler: MessageHandler): void {
    this.entries.set(topic, { validator, handler });
    if (this.ctx.running) this.attach(topic);
  }

  subscribe(topic: string, validator: Validator, handler: MessageHandler): void {
    if (topic === TOPICS.nodes) throw new GossipError(GossipErrorCodes.INVALID_TARGET, `${topic} is handled by the node itself`);
    this.set(topic, validator, handler);
  }

  unsubscribe(topic: string): void {
    this.entries.delete(topic);
    if (this.ctx.running) {
      this.ctx.node.services.pubsub.topicValidators.delete(topic);
      this.ctx.node.services.pubsub.unsubscribe(topic);
    }
  }

  /** Hooks GossipSub's message event and attaches every registered topic (at start). */
  start(): void {
    const pubsub = this.ctx.node.services.pubsub;
    pubsub.addEventListener('gossipsub:message', (evt) => {
      const { msg, propagationSource } = evt.detail;
      this.deliver(msg, propagationSource.toString());
    });
    for (const topic of this.entries.keys()) this.attach(topic);
  }

  private attach(topic: string): void {
    const pubsub = this.ctx.node.services.pubsub;
    pubsub.topicValidators.set(topic, async (peer, msg) => toTopicValidatorResult(await this.validate(topic, peer.toString(), msg)));
    pubsub.subscribe(topic);
  }

  private count(topic: string, result: ValidationResult): ValidationResult {
    this.ctx.counters.inc('xe_gossip_messages_total', { topic, action: result.action, reason: result.reason ?? 'none' });
    return result;
  }

  /**
   * The cheap checks at once; then parsing and the caller's validator in the relaying peer's
   * turn (FairQueue), so a peer that floods waits behind its own backlog and not others.
   */
  private async validate(topic: string, from: string, msg: Message): Promise<ValidationResult> {
    const entry = this.entries.get(topic);
    if (!entry) return this.count(topic, { action: 'ignore', reason: 'not_subscribed' });
    if (msg.data.length > GOSSIP_MAX_MESSAGE_BYTES) return this.count(topic, reject('too_large'));
    if (!this.hello.has(from)) return this.count(topic, { action: 'ignore', reason: 'no_hello' });
    const r = await this.fair.run(from, () => this.check(entry, topic, from, msg));
    return isDropped(r) ? this.count(topic, ignore(r.dropped)) : r;
  }

  private async check(entry: TopicEntry, topic: string, from: string, msg: Message): Promise<ValidationResult> {
    let value: JsonValue;
    try {
      value = parseJson(textDecoder.decode(msg.data));
    } catch {
      return this.count(topic, reject('invalid_json'));
    }
    let result: ValidationResult;
    try {
      result = normaliseResult(await entry.validator(value, { from, topic }));
    } catch (err) {
      // a validator that throws failed on our side (a store error, a bug): the message is
      // not relayed, but the peer that relayed it is not penalised for our fault
      this.ctx.log.warn('validator threw', { topic, from, err });
      result = ignore('validator_error');
    }
    if (result.action === 'accept') this.parsed.set(msg, value);
    return this.count(topic, result);
  }

  private deliver(msg: Message, from: string): void {
    const entry = this.entries.get(msg.topic);
    if (!entry) return;
    let value = this.parsed.get(msg);
    if (value === undefined) {
      try {
        value = parseJson(textDecoder.decode(msg.data));
      } catch {
        return;
      }
    }
    const ctx: MessageContext = { from, topic: msg.topic };
    try {
      const r = entry.handler(value, ctx);
      if (r instanceof Promise) r.catch((err) => this.ctx.log.warn('topic handler failed', { topic: msg.topic, err }));
    } catch (err) {
      this.ctx.log.warn('topic handler failed', { topic: msg.topic, err });
    }
  }

  async publish(topic: string, message: JsonValue | object): Promise<{ recipients: number }> {
    const data = new TextEncoder().encode(stringifyJson(message));
    if (data.length > GOSSIP_MAX_MESSAGE_BYTES) {
      throw new GossipError(GossipErrorCodes.MESSAGE_TOO_LARGE, `message of ${data.length} bytes exceeds ${GOSSIP_MAX_MESSAGE_BYTES}`);
    }
    const r = await this.ctx.node.services.pubsub.publish(topic, data);
    this.ctx.counters.inc('xe_gossip_published_total', { topic });
    return { recipients: r.recipients.length };
  }

  meshPeers(topic: string): string[] {
    const ps = this.ctx.node.services.pubsub as unknown as { getMeshPeers(topic: string): string[] };
    return ps.getMeshPeers(topic);
  }

  peerScore(peerId: string): number {
    const ps = this.ctx.node.services.pubsub as unknown as { getScore(id: string): number };
    return ps.getScore(peerId);
  }
}
