import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Block, type Confirmation, type JsonValue, type Vote, waitUntil } from '@xe/core-types';
import { signVote } from '@xe/crypto';
import {
  type GossipNode,
  MAX_VOTE_FETCH_HASHES,
  fetchConfirmations,
  publishVote,
  serveVotes,
  type VoteIntake,
  VOTES_TOPIC,
  voteValidator,
} from '../../src/index.js';
import { ChainMaker, NETWORK_ID } from '../support/chain.mjs';
import { ConfirmedLedger, confirmationFor, REPS } from '../support/confirmed.mjs';
import { meshed, Nodes } from '../support/nodes.js';

const NOW = 1_700_000_000_000_000_000n;
const vote = (block: Block, over: Partial<Vote> = {}, key = REPS[0]!): Vote => ({
  ...signVote(
    { position: { type: 'chain', account: block.account, previous: block.previous }, block_hash: block.hash, round: 0, final: false, timestamp: NOW },
    key,
    NETWORK_ID,
  ),
  ...over,
});

describe('finality on the wire: xe/votes, /xe/votes/1.0.0 and confirmations in sync pages', () => {
  const nodes = new Nodes();
  const source = new ConfirmedLedger();
  let blocks: Block[];
  let a: GossipNode;
  let b: GossipNode;
  const admitted: Vote[] = [];
  const delivered: JsonValue[] = [];

  beforeAll(async () => {
    blocks = await new ChainMaker(source, { accounts: 6, label: 'votes' }).make(300);
    source.confirmAll();
    a = nodes.make('VA', {}, { syncSource: source, syncSink: source });
    serveVotes(a, {
      lookup: async (h) => {
        const block = source.byHash.get(h);
        if (block === undefined) return undefined;
        const conf = source.confs.get(block.account);
        return conf?.block_hash === h ? { block, confirmation: conf } : { block };
      },
    });
    a.subscribe(VOTES_TOPIC, voteValidator({ networkId: NETWORK_ID, clock: () => NOW, admit: async () => ({ status: 'counted' }) }), () => undefined);
    await a.start();
    const admit = async (v: Vote): Promise<VoteIntake> => {
      admitted.push(v);
      return v.round === 7 ? { status: 'rejected', code: 'VOTE_EQUIVOCATION', retryable: false } : { status: 'counted' };
    };
    b = nodes.make('VB', { bootstrap: a.multiaddrs(), redialMinMs: 100 });
    b.subscribe(VOTES_TOPIC, voteValidator({ networkId: NETWORK_ID, clock: () => NOW, admit }), (m) => void delivered.push(m));
    await b.start();
    await waitUntil(() => meshed(b, [a], VOTES_TOPIC) && meshed(a, [b], VOTES_TOPIC), { timeoutMs: 20_000, what: 'votes mesh' });
  });

  afterAll(() => nodes.stopAll());

  it('rejects forged and malformed votes, ignores stale ones, relays what the ledger counts', async () => {
    const block = blocks[10]!;
    const good = vote(block);
    const forged = { ...vote(block, { round: 1 }), signature: vote(block, { round: 2 }).signature };
    const otherKey = { ...vote(block), pub_key: REPS[1]!.pubKeyHex };
    const unsigned = (v: Vote) => ({ position: v.position, block_hash: v.block_hash, round: v.round, final: v.final, timestamp: v.timestamp });
    const staleSigned = signVote({ ...unsigned(good), timestamp: NOW - 301_000_000_000n }, REPS[1]!, NETWORK_ID);
    const equivocation = signVote({ ...unsigned(good), round: 7 }, REPS[2]!, NETWORK_ID);
    await a.publish(VOTES_TOPIC, { vote: forged as unknown as JsonValue });
    await a.publish(VOTES_TOPIC, { vote: otherKey as unknown as JsonValue });
    await a.publish(VOTES_TOPIC, { vote: { ...good, round: -1 } as unknown as JsonValue });
    await publishVote(a, staleSigned);
    await publishVote(a, equivocation);
    await publishVote(a, good);
    const n = (action: string, reason: string) => b.counter('xe_gossip_messages_total', { topic: VOTES_TOPIC, action, reason });
    await waitUntil(() => n('accept', 'none') === 1 && n('reject', 'bad_signature') === 2 && n('reject', 'invalid_shape') === 1 && n('ignore', 'stale') === 1 && n('reject', 'vote_equivocation') === 1, {
      timeoutMs: 15_000,
      what: 'vote verdicts',
    });
    // only the two that passed shape, signature and window reached the ledger; one was delivered
    expect(admitted.map((v) => v.signature).sort()).toEqual([good.signature, equivocation.signature].sort());
    expect(delivered).toHaveLength(1);
  });

  it('fetches confirmations and blocks by hash, bounded per request', async () => {
    const tips = [...source.confs.values()].map((c) => c.block_hash);
    const inner = blocks[5]!.hash; // stored, not the newest confirmed: the block without a confirmation
    const unknown = 'ee'.repeat(32);
    const answer = await fetchConfirmations(b, a.peerId, [...tips, inner, unknown]);
    expect(answer.confirmations.map((c: Confirmation) => c.block_hash).sort()).toEqual([...tips].sort());
    expect(answer.blocks.map((x) => x.hash).sort()).toEqual([...tips, inner].sort());
    const tooMany = Array.from({ length: MAX_VOTE_FETCH_HASHES + 1 }, (_, i) => i.toString(16).padStart(64, '0'));
    await expect(b.request(a.peerId, '/xe/votes/1.0.0', { hashes: tooMany })).rejects.toMatchObject({ code: 'REMOTE_ERROR', remoteCode: 'PROTOCOL_ERROR' });
    await expect(b.request(a.peerId, '/xe/votes/1.0.0', { hashes: ['nothex'] })).rejects.toMatchObject({ code: 'REMOTE_ERROR' });
  });

  it('sync pages carry each account newest confirmation; a forged or short one confirms nothing', async () => {
    const sink = new ConfirmedLedger();
    const c = nodes.make('VC', {}, { syncSource: sink, syncSink: sink });
    await c.start();
    // one account's confirmation forged (a vote re-signed by a non-representative), one short of quorum
    const accounts = [...source.confs.keys()];
    const [forgedAcct, shortAcct] = [accounts[0]!, accounts[1]!];
    const saved = new Map(source.confs);
    const tip = (acct: string) => source.chains.get(acct)!.at(-1)!;
    const forged = confirmationFor(tip(forgedAcct));
    forged.votes[0] = { ...forged.votes[0]!, signature: forged.votes[1]!.signature };
    source.confs.set(forgedAcct, forged);
    source.confs.set(shortAcct, confirmationFor(tip(shortAcct), [REPS[0]!]));
    try {
      const done = new Promise<{ confirmations: number; received: number }>((resolve) => c.once('sync:done', resolve));
      await c.dial(a.multiaddrs()[0]!);
      const summary = await done;
      expect(summary.received).toBe(source.blockCount);
      expect(sink.blockCount).toBe(source.blockCount);
      expect(summary.confirmations).toBe(accounts.length - 2);
      for (const acct of accounts) {
        const want = acct === forgedAcct || acct === shortAcct ? 0 : source.chains.get(acct)!.length;
        expect([acct, sink.confirmedHeight(acct)]).toEqual([acct, want]);
      }
      expect(c.counter('xe_sync_rejected_total', { code: 'CONFIRMATION_INVALID' })).toBe(2);
      // the good ones restored: the next session brings just those two
      for (const [k, v] of saved) source.confs.set(k, v);
      let again = await c.sync(a.peerId);
      if (again.received > 0) again = await c.sync(a.peerId); // joined a session already under way
      expect(again.received).toBe(0);
      expect(again.confirmations).toBe(2);
      for (const acct of accounts) expect(sink.confirmedHeight(acct)).toBe(source.chains.get(acct)!.length);
    } finally {
      for (const [k, v] of saved) source.confs.set(k, v);
    }
  });
});
