import { type JsonValue, type NodeRecord, RateLimiter, TOPICS } from '@xe/core-types';
import { signNodeRecord } from '@xe/crypto';
import { type NodeContext, perMinute } from './context.js';
import type { NodeRecordStore } from './node-records.js';
import type { Rpc } from './rpc.js';
import type { Topics } from './topics.js';
import { ignore, reject } from './validation.js';

/** Node-record exchange on connect (ours): request `{}` → `{records: NodeRecord[]}`. */
export const NODES_PROTOCOL = '/xe/nodes/1.0.0';
const RECORDS_PER_EXCHANGE = 256;
/** Records of addresses not yet known that one relaying peer may bring in a minute. */
export const NEW_RECORDS_PER_PEER_PER_MINUTE = 120;

/**
 * Our node record and everyone else's: publishes ours (at start, after new peers, every
 * interval), takes records from `xe/nodes` and from the `/xe/nodes/1.0.0` exchange.
 */
export class RecordExchange {
  private debounce: NodeJS.Timeout | undefined;
  private readonly newRecords: RateLimiter;

  constructor(
    private readonly ctx: NodeContext,
    private readonly store: NodeRecordStore,
    private readonly topics: Topics,
    private readonly rpc: Rpc,
    private readonly onRecord: (record: NodeRecord) => void,
  ) {
    this.newRecords = new RateLimiter(perMinute(NEW_RECORDS_PER_PEER_PER_MINUTE), { clock: ctx.clock }, { maxKeys: 4096 });
    rpc.handle(NODES_PROTOCOL, async () => ({ records: store.list().slice(0, RECORDS_PER_EXCHANGE) as unknown as JsonValue[] }), {
      ratePerMinute: 60,
    });
    topics.set(
      TOPICS.nodes,
      (value, { from }) => {
        if (value === null || typeof value !== 'object' || Array.isArray(value) || !('record' in value)) return reject('invalid_shape');
        // A peer relaying records of ever new addresses (fresh keys cost nothing) gets a quota,
        // counted before the signature check: verifying every flooded record was the cost.
        const raw = value.record;
        const address = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? raw.address : undefined;
        if (typeof address === 'string' && !this.store.has(address) && !this.newRecords.allow(from)) {
          this.ctx.counters.inc('xe_node_records_dropped_total', { reason: 'peer_quota' });
          return ignore('peer_quota');
        }
        return this.store.validate(raw).result;
      },
      (value) => {
        const { record } = this.store.validate((value as { record: JsonValue }).record);
        if (record && this.store.put(record)) this.onRecord(record);
      },
    );
  }

  /** Builds, signs, stores and publishes our node record; returns it. */
  async publish(): Promise<NodeRecord> {
    const o = this.ctx.options;
    const record = signNodeRecord(
      {
        address: o.key.address,
        pub_key: o.key.pubKeyHex,
        peer_id: this.ctx.ownPeerId,
        multiaddrs: o.announce ?? this.ctx.node.getMultiaddrs().map((m) => m.toString()),
        roles: o.roles ?? [],
        timestamp: this.ctx.clock(),
      },
      o.key,
      o.networkId,
    );
    this.store.put(record);
    await this.topics.publish(TOPICS.nodes, { record });
    return record;
  }

  /** Publishes ours 500 ms after the last of a burst of new peers. */
  schedulePublish(): void {
    if (this.ctx.timers.has(this.debounce)) return;
    this.debounce = this.ctx.timers.later(500, () => {
      this.debounce = undefined;
      this.publish().catch((err) => this.ctx.log.debug('node record publish failed', { err }));
    });
  }

  /** Pulls a peer's table over `/xe/nodes/1.0.0`, each record checked like a gossiped one. */
  async exchange(peerId: string): Promise<void> {
    const res = await this.rpc.request(peerId, NODES_PROTOCOL, {}, { timeoutMs: 10_000, maxResponseBytes: 1024 * 1024 });
    const list = res !== null && typeof res === 'object' && !Array.isArray(res) ? res.records : undefined;
    if (!Array.isArray(list)) {
      this.ctx.counters.inc('xe_node_records_dropped_total', { reason: 'invalid_shape' });
      return;
    }
    for (const raw of list.slice(0, RECORDS_PER_EXCHANGE)) {
      const { result, record } = this.store.validate(raw);
      if (record && this.store.put(record)) this.onRecord(record);
      else if (result.action === 'reject') this.ctx.counters.inc('xe_node_records_dropped_total', { reason: result.reason ?? 'invalid' });
    }
  }
}
