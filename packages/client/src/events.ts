import { EVENT_SCHEMAS, type EventName, ROUTES_BY_ID } from '@xe/api-contract';
import { parseJson, pause } from '@xe/core-types';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { z } from 'zod';
import { ClientErrorCodes, XeApiError } from './errors.js';
import { type CallOptions, deadline, failure, readBody, routeUrl, type TransportOptions } from './transport.js';

/** One event of `GET /events`, its data parsed by the contract (64-bit fields as bigint). */
export type XeEvent = { [K in EventName]: { event: K; id: string | undefined; data: z.output<(typeof EVENT_SCHEMAS)[K]> } }[EventName];

export interface EventsOptions extends CallOptions {
  /** resume after this event id (`Last-Event-ID`) */
  lastEventId?: string;
  /** largest event (bytes of text between two dispatches) accepted; default 1 MiB */
  maxEventBytes?: number;
  /**
   * Reconnect when the stream ends or breaks (the node ended it after `overflow`, restarted,
   * the connection dropped, a retryable error status), sending the id of the last event seen
   * as `Last-Event-ID`, `delayMs` later (default 1000), at most `attempts` times in a row
   * without an event in between (default 10). Then the iterator throws the last error (or
   * ends, when the node had ended the stream). A non-retryable error and an abort end it at once.
   */
  resume?: boolean | { attempts?: number; delayMs?: number };
}

const isEventName = (name: string): name is EventName => Object.hasOwn(EVENT_SCHEMAS, name);

/**
 * `GET /events` as an async iterator. `timeoutMs` bounds the wait for the stream to open;
 * the stream then runs until the node closes it, the signal aborts (the iterator throws
 * ABORTED) or the consumer stops iterating. Events of a kind the contract does not know
 * are skipped; a known event whose data does not match throws INVALID_RESPONSE (with
 * validation on) — a client never sees an unchecked event.
 */
export async function* streamEvents(options: TransportOptions, eventsOptions: EventsOptions = {}): AsyncGenerator<XeEvent, void, undefined> {
  const resume = eventsOptions.resume;
  if (resume === undefined || resume === false) {
    yield* openStream(options, eventsOptions);
    return;
  }
  const attempts = (typeof resume === 'object' ? resume.attempts : undefined) ?? 10;
  const delayMs = (typeof resume === 'object' ? resume.delayMs : undefined) ?? 1000;
  const signal = eventsOptions.signal;
  let lastEventId = eventsOptions.lastEventId;
  let failures = 0;
  for (;;) {
    let lastError: unknown;
    try {
      for await (const e of openStream(options, lastEventId === undefined ? eventsOptions : { ...eventsOptions, lastEventId })) {
        failures = 0;
        if (e.id !== undefined) lastEventId = e.id;
        yield e;
      }
    } catch (err) {
      if (!(err instanceof XeApiError) || !err.retryable || signal?.aborted) throw err;
      lastError = err;
    }
    failures++;
    if (failures > attempts) {
      if (lastError !== undefined) throw lastError;
      return;
    }
    await pause(delayMs, signal).catch(() => {
      throw new XeApiError(ClientErrorCodes.ABORTED, 'event stream aborted', { status: 0, retryable: false });
    });
  }
}

/** One `GET /events` stream, from its opening to its end. */
async function* openStream(options: TransportOptions, eventsOptions: EventsOptions): AsyncGenerator<XeEvent, void, undefined> {
  const route = ROUTES_BY_ID.events;
  const url = routeUrl(options.baseUrl, route, {});
  const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers };
  if (eventsOptions.lastEventId !== undefined) headers['last-event-id'] = eventsOptions.lastEventId;
  const maxEventBytes = eventsOptions.maxEventBytes ?? 1024 * 1024;

  // The deadline covers the opening only; the caller's signal covers the whole stream.
  const opening = deadline({ timeoutMs: eventsOptions.timeoutMs ?? options.timeoutMs }, options.timeoutMs);
  const whole = new AbortController();
  const onAbort = () => whole.abort(new XeApiError(ClientErrorCodes.ABORTED, 'event stream aborted', { status: 0, retryable: false }));
  const onOpeningAbort = () => whole.abort(opening.signal.reason);
  if (eventsOptions.signal?.aborted) onAbort();
  eventsOptions.signal?.addEventListener('abort', onAbort, { once: true });
  opening.signal.addEventListener('abort', onOpeningAbort, { once: true });

  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  try {
    let response: Response;
    try {
      response = await options.fetch(url, { method: 'GET', headers, signal: whole.signal });
    } catch (err) {
      throw failure(err, whole.signal);
    } finally {
      opening.signal.removeEventListener('abort', onOpeningAbort);
      opening.done();
    }
    if (response.status !== 200) {
      const text = await readBody(response, options.maxResponseBytes).catch(() => '');
      let body: Record<string, unknown> | undefined;
      try {
        const v = parseJson(text);
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) body = v as Record<string, unknown>;
      } catch {}
      const code = typeof body?.code === 'string' ? body.code : ClientErrorCodes.HTTP_ERROR;
      const message = typeof body?.error === 'string' ? body.error : `HTTP ${response.status}`;
      const retryable = typeof body?.retryable === 'boolean' ? body.retryable : response.status === 429 || response.status === 503;
      throw new XeApiError(code, message, body === undefined ? { status: response.status, retryable } : { status: response.status, retryable, body });
    }
    if (response.body === null) return;

    const pending: EventSourceMessage[] = [];
    let sinceDispatch = 0;
    const parser = createParser({
      onEvent: (message) => {
        sinceDispatch = 0;
        pending.push(message);
      },
    });
    reader = response.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (err) {
        throw failure(err, whole.signal);
      }
      if (chunk.done) return;
      sinceDispatch += chunk.value.byteLength;
      parser.feed(decoder.decode(chunk.value, { stream: true }));
      if (sinceDispatch > maxEventBytes) {
        throw new XeApiError(ClientErrorCodes.RESPONSE_TOO_LARGE, `an event exceeds ${maxEventBytes} bytes`, { status: 200, retryable: false });
      }
      while (pending.length > 0) {
        const message = pending.shift()!;
        const name = message.event ?? 'message';
        if (!isEventName(name)) continue;
        yield decodeEvent(options, name, message);
      }
    }
  } finally {
    eventsOptions.signal?.removeEventListener('abort', onAbort);
    if (!whole.signal.aborted) whole.abort(new XeApiError(ClientErrorCodes.ABORTED, 'event stream closed', { status: 0, retryable: false }));
    await reader?.cancel().catch(() => {});
  }
}

function decodeEvent(options: TransportOptions, name: EventName, message: EventSourceMessage): XeEvent {
  let raw: unknown;
  try {
    raw = message.data === '' ? {} : parseJson(message.data);
  } catch (err) {
    throw new XeApiError(ClientErrorCodes.INVALID_RESPONSE, `event ${name}: data is not JSON`, { status: 200, retryable: false, cause: err });
  }
  const r = (EVENT_SCHEMAS[name] as z.ZodType).safeParse(raw);
  if (!r.success && options.validate) {
    throw new XeApiError(ClientErrorCodes.INVALID_RESPONSE, `event ${name}: data does not match the contract`, { status: 200, retryable: false, cause: r.error });
  }
  return { event: name, id: message.id, data: (r.success ? r.data : raw) as never } as XeEvent;
}
