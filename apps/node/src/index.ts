export { NodeApi } from './api-deps.js';
export { nodeClient, openTunnel } from './cli/client.js';
export { loadConfig, type NodeConfig, parseMultiplier, parseStartArgs } from './config.js';
export { DataDir, readGenesis, readKeyFile } from './datadir.js';
export {
  DEVNET_DIFFICULTY,
  type DevnetInfo,
  type DevnetNode,
  type DevnetOptions,
  devnetNodeArgs,
  devnetRoles,
  prepareDevnet,
  startDevnet,
} from './devnet.js';
export { NodeError, type NodeErrorCode, NodeErrorCodes } from './errors.js';
export { EventHub, type EventHubOptions, type EventHubStats, feedEventHub, type HubEventName } from './events.js';
export { Metrics } from './metrics.js';
export { NODE_VERSION, XeNode } from './xe-node.js';
export { compareOffers } from './services/consumer.js';
export { readAccessKeySeed } from './ssh-key.js';
export { DEFAULT_UI_DIR, loadUi, mountUi } from './ui.js';
