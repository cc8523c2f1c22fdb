import { ConfirmedView, type Ledger } from '@xe/ledger';

/** How long a service waits for a block's confirmation by default. */
export const CONFIRM_WAIT_MS = 30_000;

/**
 * Resolves `true` once `hash` is confirmed (SPEC §12; the ledger's `'confirmed'` event or an
 * immediate check), `false` when the block is dropped, the wait times out or `signal`
 * aborts. Services call it before anything irreversible: provisioning a VM for a lease,
 * answering a lease request, receiving a send.
 */
export function waitConfirmed(
  ledger: Pick<Ledger, 'isConfirmed' | 'events'>,
  hash: string,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ledger.events.off('confirmed', onConfirmed);
      ledger.events.off('dropped', onDropped);
      options.signal?.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onConfirmed = (e: { hash: string }) => {
      if (e.hash === hash) done(true);
    };
    const onDropped = (e: { rejected: string }) => {
      if (e.rejected === hash) done(false);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(false), options.timeoutMs ?? CONFIRM_WAIT_MS);
    timer.unref();
    ledger.events.on('confirmed', onConfirmed);
    ledger.events.on('dropped', onDropped);
    if (options.signal?.aborted) return done(false);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    void ledger.isConfirmed(hash).then(
      (ok) => ok && done(true),
      () => undefined,
    );
  });
}

const views = new WeakMap<Ledger, ConfirmedView>();

/**
 * The one `ConfirmedView` of a ledger (SPEC §12: what the node serves and admits on comes
 * from confirmed blocks), shared by the API, the event stream and marketplace admission.
 */
export function confirmedViewOf(ledger: Ledger): ConfirmedView {
  let view = views.get(ledger);
  if (view === undefined) {
    view = new ConfirmedView(ledger);
    views.set(ledger, view);
  }
  return view;
}
