export { Coordinator, type RoundRecord, type CoordinatorEvents, type CoordinatorOptions } from './coordinator.ts';
export { STRATEGY_NAMES, createStrategy, type StrategyName } from './aggregation/registry.ts';
export { createFedwardenStrategy } from './aggregation/robust-pipeline.ts';
export { createBetaReputation, type BetaReputation } from './reputation/beta-reputation.ts';
export type { Alert } from './anomaly/alert.ts';
export { parseConfig, loadConfig, configSchema, type CoordinatorConfig, type CoordinatorConfigInput } from './config.ts';
export {
  ephemeralIdentity,
  identityFromSeed,
  loadOrCreateIdentity,
  KEY_FILE_NAME,
  type CoordinatorIdentity,
} from './identity.ts';
export { Enrolment, generateToken, hashToken } from './enrolment.ts';
export { fedAvg } from './aggregation/fedavg.ts';
export type { AggregationUnit, AggregationResult, Strategy, StrategyContext, UnitVerdict } from './aggregation/strategy.ts';
export { SecaggGroup, type SecaggResult, type SecaggGroupParams } from './secagg/group-protocol.ts';
export { partitionGroups, type GroupPolicy } from './secagg/groups.ts';
