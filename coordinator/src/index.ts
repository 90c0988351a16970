export { Coordinator, type RoundRecord, type CoordinatorEvents } from './coordinator.ts';
export { parseConfig, loadConfig, configSchema, type CoordinatorConfig, type CoordinatorConfigInput } from './config.ts';
export {
  ephemeralIdentity,
  identityFromSeed,
  loadOrCreateIdentity,
  KEY_FILE_NAME,
  type CoordinatorIdentity,
} from './identity.ts';
export { Enrolment, generateToken, hashToken } from './enrolment.ts';
export { fedAvg, type AggregationUnit } from './aggregation/fedavg.ts';
export { SecaggGroup, type SecaggResult, type SecaggGroupParams } from './secagg/group-protocol.ts';
export { partitionGroups, type GroupPolicy } from './secagg/groups.ts';
