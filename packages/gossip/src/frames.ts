import { isAscii } from 'node:buffer';
import type { Stream } from '@libp2p/interface';
import { type JsonValue, latin1, parseJson, stringifyJson } from '@xe/core-types';
import { Uint8ArrayList } from 'uint8arraylist';
import { GossipError, GossipErrorCodes } from './errors.js';

/**
 * Framing of every direct protocol: `u32 big-endian length || payload`. JSON payloads
 * are UTF-8 text printed by core-types' `stringifyJson` (integers exact).
 */
export const FRAME_HEADER_BYTES = 4;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

export function encodeJsonFrame(value: unknown): Uint8Array {
  return encodeFrame(encoder.encode(stringifyJson(value)));
}

/** Frames JSON text that is already printed (sync pages are assembled as text). */
export function encodeTextFrame(text: string): Uint8Array {
  return encodeFrame(encoder.encode(text));
}

/** Decodes a frame payload as JSON; bad UTF-8 or JSON → PROTOCOL_ERROR. */
export function decodeJson(payload: Uint8Array): JsonValue {
  let text: string;
  try {
    // ASCII (every frame a node of this software prints, bar non-ASCII memos) is its own
    // UTF-8 and its own latin1: copied into a string byte for byte, without UTF-8 decoding
    text = isAscii(payload) ? latin1(payload) : decoder.decode(payload);
  } catch (cause) {
    throw new GossipError(GossipErrorCodes.PROTOCOL_ERROR, 'frame is not UTF-8', { cause });
  }
  try {
    return parseJson(text);
  } catch (cause) {
    throw new GossipError(GossipErrorCodes.PROTOCOL_ERROR, 'frame is not JSON', { cause });
  }
}

/**
 * Reads from a libp2p stream with backpressure: past `highWaterBytes` of unread data
 * the stream is paused (the muxer's window then stops the sender) until frames are
 * consumed.
 */
export class StreamReader {
  private readonly buf = new Uint8ArrayList();
  private ended = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly stream: Stream,
    private readonly highWaterBytes = 1 << 20,
  ) {
    stream.addEventListener('message', (evt) => {
      this.buf.append(evt.data);
      if (this.buf.byteLength > this.highWaterBytes && stream.readStatus === 'readable') stream.pause();
      this.notify();
    });
    stream.addEventListener('end', () => {
      this.ended = true;
      this.notify();
    });
    stream.addEventListener('close', (evt) => {
      this.ended = true;
      if (evt.error) this.error = evt.error;
      this.notify();
    });
    if (stream.readableEnded) this.ended = true;
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private maybeResume(): void {
    if (this.buf.byteLength <= this.highWaterBytes && this.stream.readStatus === 'paused') {
      try {
        this.stream.resume();
      } catch {
        // closed meanwhile
      }
    }
  }

  private async waitData(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortedError(signal);
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.wake = undefined;
        reject(abortedError(signal));
      };
      this.wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Bytes currently buffered. */
  get buffered(): number {
    return this.buf.byteLength;
  }

  /**
   * The next frame's payload, or `null` at a clean end of stream. A header announcing
   * more than `maxBytes` fails at once (FRAME_TOO_LARGE) without buffering the body.
   */
  async readFrame(maxBytes: number, signal?: AbortSignal): Promise<Uint8Array | null> {
    for (;;) {
      if (this.buf.byteLength >= FRAME_HEADER_BYTES) {
        const len = this.buf.getUint32(0);
        if (len > maxBytes) {
          throw new GossipError(GossipErrorCodes.FRAME_TOO_LARGE, `frame of ${len} bytes exceeds ${maxBytes}`, {
            details: { bytes: len, max: maxBytes },
          });
        }
        if (this.buf.byteLength >= FRAME_HEADER_BYTES + len) {
          const payload = this.buf.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + len);
          this.buf.consume(FRAME_HEADER_BYTES + len);
          this.maybeResume();
          return payload;
        }
      }
      if (this.ended) {
        if (this.error) throw new GossipError(GossipErrorCodes.STREAM_CLOSED, 'stream reset', { cause: this.error });
        if (this.buf.byteLength === 0) return null;
        throw new GossipError(GossipErrorCodes.PROTOCOL_ERROR, 'stream ended inside a frame');
      }
      this.maybeResume();
      await this.waitData(signal);
    }
  }

  async readJson(maxBytes: number, signal?: AbortSignal): Promise<JsonValue | null> {
    const frame = await this.readFrame(maxBytes, signal);
    return frame === null ? null : decodeJson(frame);
  }
}

function abortedError(signal?: AbortSignal): GossipError {
  const reason = signal?.reason;
  if (reason instanceof GossipError) return reason;
  return new GossipError(GossipErrorCodes.ABORTED, 'operation aborted', { cause: reason });
}

/** Sends bytes, waiting for the stream to drain when its buffer is full. */
export async function writeBytes(stream: Stream, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw abortedError(signal);
  try {
    if (stream.writableNeedsDrain) await stream.onDrain(signal ? { signal } : {});
    if (!stream.send(bytes)) await stream.onDrain(signal ? { signal } : {});
  } catch (cause) {
    if (signal?.aborted) throw abortedError(signal);
    throw new GossipError(GossipErrorCodes.STREAM_CLOSED, 'stream closed while writing', { cause });
  }
}

export function writeJson(stream: Stream, value: unknown, signal?: AbortSignal): Promise<void> {
  return writeBytes(stream, encodeJsonFrame(value), signal);
}
