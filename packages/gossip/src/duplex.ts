import { Duplex } from 'node:stream';
import type { Stream } from '@libp2p/interface';

/**
 * Wraps a libp2p stream as a Node Duplex so it can be `pipe()`d to a socket.
 * Backpressure both ways: a full readable side pauses the libp2p stream (the muxer
 * window then holds the sender); writes wait for the stream to drain. `end()` closes
 * our writable half only; the readable half ends when the remote closes its own.
 * Destroying the Duplex with an error resets the stream.
 */
export function streamToDuplex(stream: Stream): Duplex {
  const duplex = new Duplex({
    allowHalfOpen: true,
    read() {
      if (stream.readStatus === 'paused') {
        try {
          stream.resume();
        } catch {
          // already closed
        }
      }
    },
    write(chunk: Buffer, _encoding, callback) {
      try {
        if (stream.send(chunk)) callback();
        else stream.onDrain().then(() => callback(), callback);
      } catch (err) {
        callback(err as Error);
      }
    },
    final(callback) {
      stream.close().then(() => callback(), callback);
    },
    destroy(err, callback) {
      if (stream.status === 'open' || stream.status === 'closing') {
        if (err) stream.abort(err);
        else if (stream.writeStatus === 'writable') stream.close().catch(() => undefined);
      }
      callback(err);
    },
  });
  stream.addEventListener('message', (evt) => {
    const data = evt.data instanceof Uint8Array ? evt.data : evt.data.subarray();
    if (!duplex.push(data) && stream.readStatus === 'readable') {
      try {
        stream.pause();
      } catch {
        // closing
      }
    }
  });
  stream.addEventListener('end', () => {
    duplex.push(null);
  });
  stream.addEventListener('close', (evt) => {
    if (evt.error) duplex.destroy(evt.error);
    else duplex.push(null);
  });
  return duplex;
}
