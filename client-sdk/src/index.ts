export { FederatedClient, type FederatedClientOptions, type FederatedClientEvents, type ClientSummary, type RoundStage } from './federated-client.ts';
export { SecureConnection, errorFromClose, type ConnectOptions } from './connection.ts';
export type { TrainableModel, LabeledData, TrainProgress, TrainResult, Evaluation, TrainOptions } from './trainable-model.ts';
export { initTensorFlow, tf, type BackendPreference } from './tf/index.ts';
export { LoraModel, createLoraModel, loraManifest, type LoraOptions } from './lora/index.ts';
export { rowsTensor, oneHotTensor } from './lora/lora-batches.ts';
export { batchLoop, type BatchLoopOptions } from './tf/batch-loop.ts';
export { evaluateInBatches, predictInBatches, EVAL_BATCH_SIZE, type BatchLogits } from './tf/batched-logits.ts';
export { meanSoftmaxCrossEntropy } from './lora/lora-forward.ts';
export { SharedFrozenBase, readFrozenBase, disposeFrozenBase, activate, type FrozenBaseLease, type FrozenBase, type FrozenDense, type DenseActivation } from './lora/index.ts';
export { SecaggClient } from './secagg/client-protocol.ts';
export { backoffCeiling, backoffDelay, BACKOFF_DEFAULTS, type BackoffOptions } from './resilience/backoff.ts';
export { CircuitBreaker, CIRCUIT_BREAKER_DEFAULTS, type BreakerState, type CircuitBreakerOptions } from './resilience/circuit-breaker.ts';
export {
  ReconnectPolicy,
  RECONNECT_DEFAULTS,
  RETRIABLE_CODES,
  isRetriable,
  type ReconnectDecision,
  type ReconnectOptions,
} from './resilience/reconnect-policy.ts';
export { HeartbeatWatchdog, DEFAULT_HEARTBEAT_TIMEOUT_MS } from './resilience/heartbeat.ts';
export { loadIdentityFile, type LoadIdentityFileOptions } from './identity-file.ts';
export { PeerPins } from './peer-pins.ts';
export type { PeerIdentity, TrustPeer } from './identity-options.ts';
export { readToken, TOKEN_ENV, TOKEN_PREFIX, ML_DSA_SEED_BYTES, identityFingerprint } from '@fedwarden/shared';
export type { Logger, LogLevel } from '@fedwarden/shared';
