import { type Attestation, stringifyJson } from '@xe/core-types';
import { type AttestationSigner, type AttestationTransport, type AttestRequest, parseAttestRequest } from '../../src/index.js';

/** What one in-process timekeeper does with a request. */
export type Behaviour =
  | { kind: 'signer'; signer: AttestationSigner }
  /** Never answers; rejects when the signal aborts (a well-behaved transport). */
  | { kind: 'hang' }
  /** Never settles at all, ignoring the signal (a badly behaved transport). */
  | { kind: 'deaf' }
  | { kind: 'answer'; answer: (req: AttestRequest) => Attestation };

export interface Call {
  key: string;
  request: AttestRequest;
  signal: AbortSignal;
}

/**
 * An in-process fake of the AttestationTransport this package declares (unit tests
 * only; the socket transport is in the e2e tests). Requests pass through the wire codec.
 */
export class LocalTransport implements AttestationTransport {
  readonly calls: Call[] = [];
  constructor(
    private readonly behaviours: ReadonlyMap<string, Behaviour>,
    private readonly requester = 'peer-requester',
  ) {}

  async requestAttestation(key: string, request: AttestRequest, options: { signal: AbortSignal }): Promise<Attestation> {
    this.calls.push({ key, request, signal: options.signal });
    const b = this.behaviours.get(key);
    if (b === undefined) throw Object.assign(new Error('no route to timekeeper'), { code: 'UNREACHABLE' });
    const wire = parseAttestRequest(stringifyJson(request));
    switch (b.kind) {
      case 'signer':
        return b.signer.sign(wire, { requester: this.requester, signal: options.signal });
      case 'hang':
        return new Promise<Attestation>((_resolve, reject) => {
          options.signal.addEventListener('abort', () => reject(options.signal.reason), { once: true });
        });
      case 'deaf':
        return new Promise<Attestation>(() => {});
      case 'answer':
        return b.answer(wire);
    }
  }

  callsTo(key: string): Call[] {
    return this.calls.filter((c) => c.key === key);
  }
}
