import type { Block, UnsignedBlock } from '@xe/core-types';
import { attachPow, type KeyPair, powWork, signBlock, verifyPow } from '@xe/crypto';

/**
 * Signs a block and attaches proof of work. The nonce from `attachPow` is re-checked
 * with `verifyPow`; when it does not verify (see README: the shared solver can return a
 * nonce below the difficulty), a sequential search with `powWork` takes over.
 */
export async function sealBlock<T extends UnsignedBlock>(
  unsigned: T,
  key: KeyPair,
  options: { networkId: string; difficulty: bigint; signal?: AbortSignal },
): Promise<Block> {
  const signed = signBlock(unsigned, key, options.networkId) as unknown as Block;
  if (signed.type === 'genesis') return signed;
  const solved = await attachPow(signed, options.difficulty, options.signal === undefined ? {} : { signal: options.signal });
  if (verifyPow(solved, options.difficulty)) return solved;
  let nonce = solved.pow_nonce ?? 0n;
  for (let i = 0; ; i++) {
    nonce = (nonce + 1n) & 0xffffffffffffffffn;
    if (powWork(signed.hash, nonce) >= options.difficulty) return { ...signed, pow_nonce: nonce };
    if ((i & 0xffff) === 0xffff) {
      options.signal?.throwIfAborted();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
