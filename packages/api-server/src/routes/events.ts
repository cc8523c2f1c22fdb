import type { Handler, Handlers } from './types.js';

/** A decimal event id as `Last-Event-ID` carries it (the contract's pattern). */
const EVENT_ID = /^[0-9]{1,20}$/;

/** After an overflow, a client that does not even take the `overflow` event is cut off after this long. */
export const OVERFLOW_CLOSE_MS = 2000;

/** Asks a browser's `EventSource` to reconnect after 2 s; the first bytes, so the headers go out at once. */
const PREAMBLE = 'retry: 2000\n: xe-node events\n\n';

/**
 * `GET /events` (SPEC §11): the subscription's text as a pull stream, so that a client
 * that does not read stops the pulls and its backlog stays in the node's bounded feed (which
 * overflows it) instead of growing in a socket buffer. A malformed `Last-Event-ID` is read
 * as none (a fresh subscription).
 */
export const eventHandlers: Pick<Handlers, 'events'> = {
  events: ((c, { deps }) => {
    const header = c.req.header('last-event-id')?.trim();
    const lastEventId = header !== undefined && EVENT_ID.test(header) ? BigInt(header) : undefined;
    const socket = c.env?.incoming?.socket;
    let ended = false;
    let cutoff: ReturnType<typeof setTimeout> | undefined;
    const subscription = deps.subscribeEvents(lastEventId, () => {
      if (socket === undefined || cutoff !== undefined) return;
      cutoff = setTimeout(() => {
        if (!ended) socket.destroy();
      }, OVERFLOW_CLOSE_MS);
      cutoff.unref();
    });
    const finish = () => {
      ended = true;
      if (cutoff !== undefined) clearTimeout(cutoff);
      subscription.close();
    };
    socket?.once('close', finish);
    const encoder = new TextEncoder();
    let first = true;
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          if (first) {
            first = false;
            controller.enqueue(encoder.encode(PREAMBLE));
            return;
          }
          const text = await subscription.next();
          if (text === undefined) {
            finish();
            try {
              controller.close();
            } catch {}
            return;
          }
          controller.enqueue(encoder.encode(text));
        },
        cancel() {
          finish();
        },
      },
      { highWaterMark: 0 },
    );
    return new Response(body, {
      status: 200,
      headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' },
    });
  }) satisfies Handler<'events'>,
};
