import type { Duplex } from 'node:stream';
import { asError, type NodeContext } from './context.js';
import { streamToDuplex } from './duplex.js';
import type { Hello } from './hello.js';
import type { Dialer } from './peers.js';
import type { StreamHandler } from './rpc.js';

/** Raw byte-stream protocols (the tunnel): a Node Duplex each way, after hello. */
export class RawStreams {
  private readonly handlers = new Map<string, StreamHandler>();

  constructor(
    private readonly ctx: NodeContext,
    private readonly hello: Hello,
    private readonly dialer: Dialer,
  ) {}

  handle(protocol: string, handler: StreamHandler): void {
    this.handlers.set(protocol, handler);
    if (this.ctx.running) this.register(protocol).catch((err) => this.ctx.log.warn('handler registration failed', { protocol, err }));
  }

  async start(): Promise<void> {
    for (const protocol of this.handlers.keys()) await this.register(protocol);
  }

  private async register(protocol: string): Promise<void> {
    await this.ctx.node.handle(
      protocol,
      async (stream, conn) => {
        const peerId = conn.remotePeer.toString();
        const handler = this.handlers.get(protocol);
        try {
          if (!handler) throw new Error('no handler');
          await this.hello.wait(peerId, AbortSignal.timeout(this.ctx.helloTimeoutMs));
          handler(streamToDuplex(stream), { peerId, protocol });
        } catch (err) {
          stream.abort(asError(err));
        }
      },
      { force: true },
    );
  }

  async open(target: string, protocol: string, options: { signal?: AbortSignal } = {}): Promise<Duplex> {
    const signal = options.signal ? AbortSignal.any([options.signal, this.ctx.stopSignal]) : this.ctx.stopSignal;
    return streamToDuplex(await this.dialer.openProtocolStream(target, protocol, signal));
  }
}
