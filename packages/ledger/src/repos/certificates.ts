import { type AbortOptions, bytesToHex, type Certificate } from '@xe/core-types';
import { keys, prefixRange } from '../buckets.js';
import { decodeJson, encodeJson } from '../codec.js';
import { signalOf } from '../hex.js';
import type { BatchOp, Store } from '../store.js';

/** Provider certificates (CERTIFICATE, kept forever) and their index by provider. */
export class CertificateRepo {
  constructor(private readonly store: Store) {}

  async get(hash: string): Promise<Certificate | undefined> {
    const v = await this.store.get(keys.certificate(hash));
    return v === undefined ? undefined : decodeJson<Certificate>(v);
  }

  async has(hash: string): Promise<boolean> {
    return (await this.store.get(keys.certificate(hash))) !== undefined;
  }

  putOps(cert: Certificate): BatchOp[] {
    return [
      { type: 'put', key: keys.certificate(cert.hash), value: encodeJson(cert) },
      { type: 'put', key: keys.certByProvider(cert.provider, cert.hash), value: new Uint8Array(0) },
    ];
  }

  /** The provider's certificates, newest expiry first. */
  async ofProvider(provider: string, options: AbortOptions = {}): Promise<Certificate[]> {
    const out: Certificate[] = [];
    for await (const [k] of this.store.range({ ...prefixRange(keys.certByProviderPrefix(provider)), ...signalOf(options) })) {
      const c = await this.get(bytesToHex(k.subarray(33)));
      if (c) out.push(c);
    }
    return out.sort((a, b) => (a.expires_at > b.expires_at ? -1 : a.expires_at < b.expires_at ? 1 : 0));
  }
}
