import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleToJson, type GenesisBundle, isHex, parseGenesisBundle, stringifyJson } from '@xe/core-types';
import { type KeyPair, keyPairFromSeed } from '@xe/crypto';
import { NodeError, NodeErrorCodes } from './errors.js';

/**
 * The data directory:
 *   node.key      the node's Ed25519 seed (hex, mode 0600): ledger account and libp2p identity
 *   genesis.json  the network's bundle, copied at first start
 *   ledger/       LevelDB
 *   vms/          VM state of the provider backend
 */
export class DataDir {
  constructor(readonly path: string) {}

  get keyFile(): string {
    return join(this.path, 'node.key');
  }
  get genesisFile(): string {
    return join(this.path, 'genesis.json');
  }
  get ledgerDir(): string {
    return join(this.path, 'ledger');
  }
  get vmDir(): string {
    return join(this.path, 'vms');
  }

  ensure(): void {
    try {
      mkdirSync(this.path, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new NodeError(NodeErrorCodes.DATA_DIR, `cannot create data directory ${this.path}: ${(err as Error).message}`);
    }
  }

  /** Loads the node key, creating one on first start. */
  loadOrCreateKey(): { key: KeyPair; created: boolean } {
    this.ensure();
    if (existsSync(this.keyFile)) return { key: readKeyFile(this.keyFile), created: false };
    const seed = randomBytes(32).toString('hex');
    writeSecret(this.keyFile, `${seed}\n`);
    return { key: keyPairFromSeed(seed), created: true };
  }

  /**
   * The bundle: from `--genesis` on first start (copied in), later from the copy. A
   * different `--genesis` than the stored one is refused (the ledger checks the network hash too).
   */
  loadGenesis(genesisArg: string | undefined): GenesisBundle {
    this.ensure();
    if (genesisArg) {
      const bundle = readGenesis(genesisArg);
      if (!existsSync(this.genesisFile)) writeAtomic(this.genesisFile, `${stringifyJson(bundleToJson(bundle), 2)}\n`);
      return bundle;
    }
    if (existsSync(this.genesisFile)) return readGenesis(this.genesisFile);
    throw new NodeError(
      NodeErrorCodes.CONFIG_INVALID,
      `no genesis bundle: pass --genesis FILE on first start (make one with \`xe-node genesis new\`), or use a data directory that has ${this.genesisFile}`,
    );
  }
}

export function readKeyFile(path: string): KeyPair {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new NodeError(NodeErrorCodes.DATA_DIR, `cannot read key file ${path}: ${(err as Error).message}`);
  }
  if (!isHex(text, 64)) throw new NodeError(NodeErrorCodes.DATA_DIR, `key file ${path}: expected 64 lowercase hex chars (an Ed25519 seed)`);
  return keyPairFromSeed(text);
}

export function readGenesis(path: string): GenesisBundle {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new NodeError(NodeErrorCodes.CONFIG_INVALID, `--genesis: cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return parseGenesisBundle(text);
  } catch (err) {
    throw new NodeError(NodeErrorCodes.CONFIG_INVALID, `--genesis: ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Write-temp-then-rename, so a crash never leaves a half-written file. */
export function writeAtomic(path: string, data: string, mode = 0o644): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, path);
}

export function writeSecret(path: string, data: string): void {
  writeAtomic(path, data, 0o600);
  chmodSync(path, 0o600);
}
