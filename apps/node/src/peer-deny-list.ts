import { readFileSync } from 'node:fs';
import type { Logger } from '@xe/core-types';

/** How often the deny-list file is re-read. */
export const DENY_LIST_POLL_MS = 200;
/** Peer ids a deny list holds at most. */
export const MAX_DENIED_PEERS = 1024;

/**
 * Peers this node refuses (dials and connections both ways), from a file named by
 * `XE_PEER_DENY_FILE`, re-read every 200 ms: each line is a group of peer ids separated by
 * spaces, and a node listed in one group refuses the peers of every other group. The e2e
 * tests cut a devnet in two with it (a partition) and heal it by emptying the file; peers
 * newly refused are hung up at once. Without the variable nothing is refused.
 */
export class PeerDenyList {
  private denied = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private text = '';

  constructor(
    private readonly self: string,
    private readonly file: string,
    private readonly hangUp: (peerId: string) => Promise<void>,
    private readonly log: Logger,
  ) {}

  static fromEnv(env: NodeJS.ProcessEnv, self: string, hangUp: (peerId: string) => Promise<void>, log: Logger): PeerDenyList | undefined {
    const file = env.XE_PEER_DENY_FILE;
    return file ? new PeerDenyList(self, file, hangUp, log) : undefined;
  }

  /** The gossip layer's `denyPeer`. */
  denies = (peerId: string): boolean => this.denied.has(peerId);

  start(): void {
    this.reload();
    this.timer = setInterval(() => this.reload(), DENY_LIST_POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  reload(): void {
    let text = '';
    try {
      text = readFileSync(this.file, 'utf8').slice(0, 64 * MAX_DENIED_PEERS);
    } catch {}
    if (text === this.text) return;
    this.text = text;
    const groups = text
      .split('\n')
      .map((l) => l.split(/\s+/).filter((p) => /^[1-9A-HJ-NP-Za-km-z]{32,64}$/.test(p)))
      .filter((g) => g.length > 0);
    const next = new Set<string>();
    if (groups.some((g) => g.includes(this.self))) {
      for (const g of groups) if (!g.includes(this.self)) for (const p of g) if (next.size < MAX_DENIED_PEERS) next.add(p);
    }
    const added = [...next].filter((p) => !this.denied.has(p));
    this.denied = next;
    this.log.warn('peer deny list changed', { denied: next.size, file: this.file });
    for (const p of added) void this.hangUp(p).catch(() => undefined);
  }
}
