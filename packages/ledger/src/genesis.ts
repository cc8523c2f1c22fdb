import {
  type Asset,
  DEFAULT_LEASE_PARAMS,
  type GenesisBundle,
  type GenesisBlock,
  type FinalityParams,
  type LeaseParams,
  MICRO,
  type Representative,
  type SendBlock,
  type UnsignedBlock,
  validateFinalityParams,
  validateNetworkParams,
} from '@xe/core-types';
import { type KeyPair, signBlock } from '@xe/crypto';
import { LedgerErrorCodes, LedgerOpenError } from './errors.js';
import { sealBlock } from './seal.js';

export interface GenesisAllocation {
  address: string;
  asset: Asset;
  amount: bigint;
}

export interface CreateGenesisOptions {
  networkId: string;
  difficulty: bigint;
  timekeepers: { keys: string[]; threshold: number };
  lease?: Partial<LeaseParams>;
  /** the representatives with their weights (SPEC §4, §12) */
  representatives: readonly Representative[];
  /** share of the total weight a quorum needs, 51..100 (default 67, the production value) */
  quorumPct?: number;
  treasuryKeys: Record<Asset, KeyPair>;
  /** total supply per asset (default 1,000,000,000 of each, in micro-units) */
  supply?: Partial<Record<Asset, bigint>>;
  allocations: readonly GenesisAllocation[];
  /** timestamp of every bundle block (default 0) */
  timestamp?: bigint;
  signal?: AbortSignal;
}

/** The production quorum (SPEC §12). */
export const DEFAULT_QUORUM_PCT = 67;

export const DEFAULT_GENESIS_SUPPLY = 1_000_000_000n * MICRO;

/**
 * Builds a genesis bundle (SPEC §4): the XE and XUSD treasury genesis blocks (no timing
 * fields, no PoW), then one signed, PoW'd send per allocation from the asset's treasury.
 */
export async function createGenesisBundle(options: CreateGenesisOptions): Promise<GenesisBundle> {
  const lease: LeaseParams = { ...DEFAULT_LEASE_PARAMS, ...options.lease };
  const finality: FinalityParams = {
    representatives: options.representatives.map((r) => ({ address: r.address, weight: r.weight })),
    quorum_pct: options.quorumPct ?? DEFAULT_QUORUM_PCT,
  };
  const params = {
    network_id: options.networkId,
    pow_difficulty: options.difficulty,
    timekeepers: { keys: [...options.timekeepers.keys], threshold: options.timekeepers.threshold },
    lease,
    finality,
  };
  try {
    validateNetworkParams(params);
    validateFinalityParams(finality);
  } catch (err) {
    throw new LedgerOpenError(LedgerErrorCodes.INVALID_BUNDLE, (err as Error).message, { cause: err });
  }
  const timestamp = options.timestamp ?? 0n;
  const blocks: GenesisBundle['blocks'] = [];
  const heads: Record<Asset, { frontier: string; balance: bigint }> = {
    XE: { frontier: '', balance: 0n },
    XUSD: { frontier: '', balance: 0n },
  };
  for (const asset of ['XE', 'XUSD'] as const) {
    const key = options.treasuryKeys[asset];
    const balance = options.supply?.[asset] ?? DEFAULT_GENESIS_SUPPLY;
    const unsigned: UnsignedBlock = {
      type: 'genesis',
      account: key.address,
      previous: '0',
      balance,
      timestamp,
      asset,
      pub_key: key.pubKeyHex,
    };
    const g = signBlock(unsigned, key, options.networkId) as GenesisBlock;
    blocks.push(g);
    heads[asset] = { frontier: g.hash, balance };
  }
  if (options.treasuryKeys.XE.address === options.treasuryKeys.XUSD.address) {
    throw new LedgerOpenError(LedgerErrorCodes.INVALID_BUNDLE, 'the two treasuries need distinct keys');
  }
  for (const [i, a] of options.allocations.entries()) {
    const head = heads[a.asset];
    const key = options.treasuryKeys[a.asset];
    if (a.amount <= 0n || a.amount > head.balance) {
      throw new LedgerOpenError(LedgerErrorCodes.INVALID_BUNDLE, `allocations[${i}]: amount must be positive and within the remaining supply`);
    }
    if (a.address === key.address) {
      throw new LedgerOpenError(LedgerErrorCodes.INVALID_BUNDLE, `allocations[${i}]: cannot allocate to the treasury itself`);
    }
    head.balance -= a.amount;
    const unsigned: UnsignedBlock = {
      type: 'send',
      account: key.address,
      previous: head.frontier,
      balance: head.balance,
      timestamp,
      asset: a.asset,
      destination: a.address,
      amount: a.amount,
    };
    const withPow = (await sealBlock(unsigned, key, {
      networkId: options.networkId,
      difficulty: options.difficulty,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    })) as SendBlock;
    blocks.push(withPow);
    head.frontier = withPow.hash;
  }
  return { ...params, blocks };
}
