import { keyPairFromSeed } from '@xe/crypto';
import { buildSend, sealBlock, emptyHead } from '@xe/ledger';
import { encodeBlock } from '../../packages/ledger/dist/codec.js';
const k = keyPairFromSeed(new Uint8Array(32).fill(3));
const blocks = [];
for (let i = 0; i < 2000; i++) blocks.push(await sealBlock(buildSend({ ...emptyHead(k.address, k.pubKeyHex), frontier: '11'.repeat(32), height: 1n, balances: { XUSD: 10n ** 15n, XE: 0n } }, { destination: k.address, asset: 'XUSD', amount: 1000n + BigInt(i), timestamp: 1n + BigInt(i) }), k, { networkId: 'x', difficulty: 0xf000000000000000n }));
for (let r = 0; r < 6; r++) { const t = performance.now(); for (const b of blocks) encodeBlock(5n, b); console.log('µs/block', ((performance.now() - t) * 1000 / blocks.length).toFixed(2)); }
console.log(Object.keys(blocks[0]).join(','));
