export { Coordinator, type CoordinatorEvents, type CoordinatorOptions } from './coordinator.ts';
export type { Blame, BlameKind, RoundRecord, SecureGroupOutcome } from './rounds/round-record.ts';
export type { Evaluation, EvaluateHook } from './rounds/evaluation.ts';
export type { ReferenceHook } from './rounds/reference-update.ts';
export {
  loadExtensions,
  type EvaluatorFactory,
  type ExtensionContext,
  type ExtensionFactory,
  type ExtensionKind,
  type LoadedExtensions,
  type ReferenceFactory,
  type StrategyFactory,
} from './extensions/load-extensions.ts';
export { STRATEGY_NAMES, createStrategy, type StrategyName } from './aggregation/registry.ts';
export {
  DEFAULT_SERVER_LEARNING_RATE,
  SERVER_OPTIMIZERS,
  initialServerOptimizerState,
  resolveServerOptimizer,
  serverOptimizerStep,
  type ServerOptimizerKind,
  type ServerOptimizerSettings,
  type ServerOptimizerState,
} from './aggregation/server-optimizer.ts';
export {
  createFedwardenStrategy,
  type FedwardenOptions,
  type FedwardenResult,
  type FedwardenStrategy,
  type PipelineStep,
} from './aggregation/robust-pipeline.ts';
export type { CollusionDiagnostics, CollusionOptions } from './aggregation/collusion.ts';
export { createFedAvg } from './aggregation/fedavg-strategy.ts';
export { createCoordinateMedian } from './aggregation/coordinate-median.ts';
export { createTrimmedMean } from './aggregation/trimmed-mean.ts';
export { createKrum, createMultiKrum } from './aggregation/krum.ts';
export { createCenteredClipping } from './aggregation/centered-clipping.ts';
export { syntheticUnits, type UnitKind } from './aggregation/synthetic-units.ts';
export {
  createBetaReputation,
  type BetaReputation,
  type BetaReputationOptions,
  type EvidenceOutcome,
  type UnitEvidence,
} from './reputation/beta-reputation.ts';
export { MemoryReputationStore, type ReputationRecord, type ReputationStore } from './reputation/reputation-store.ts';
export { evidenceFromResult } from './reputation/evidence.ts';
export type { Alert } from './anomaly/alert.ts';
export type { AlertEvent, AlertResolution, AlertStatus, AlertTransition, TrackedAlert } from './alerting/tracked-alert.ts';
export { ALERT_PAYLOAD_SCHEMA, type AlertNotification } from './alerting/notification.ts';
export { SIGNATURE_HEADER, signBody } from './alerting/webhook-channel.ts';
export { parseConfig, loadConfig, checkEnrolment, configSchema, TRAINING_DEFAULTS, type CoordinatorConfig, type CoordinatorConfigInput } from './config.ts';
export {
  ephemeralIdentity,
  identityFromSeed,
  loadOrCreateIdentity,
  readIdentity,
  keyPath,
  KEY_FILE_NAME,
  type CoordinatorIdentity,
} from './identity.ts';
export { dataDirFingerprint, inspectDataDir, openDataDir, type DataDirState, type OpenDataDirOptions, type OpenedDataDir } from './data-dir.ts';
export { Enrolment, generateToken, hashToken } from './enrolment.ts';
export { OperatorServer, type OperatorRoute, type OperatorServerHooks, type OperatorServerOptions } from './operator/operator-server.ts';
export { OperatorAuth, OPERATOR_TOKEN_PREFIX, generateOperatorToken } from './operator/operator-auth.ts';
export { requestPath, sendJson, sendText } from './operator/http-helpers.ts';
export { DashboardFeed, type DashboardFeedOptions, type DashboardSource } from './operator/dashboard/dashboard-feed.ts';
export { DASHBOARD_CSP, dashboardRoutes, type DashboardRoutes, type DashboardRoutesOptions } from './operator/dashboard/dashboard-routes.ts';
export type { DashboardEvent, DashboardSnapshot, DashboardStatus, GroupRow, ReputationRow, RoundSummary } from './operator/dashboard/dashboard-model.ts';
export type { LoopStage, StageChange } from './rounds/round-stage.ts';
export type { ReputationStanding } from './reputation/standing.ts';
export { fedAvg } from './aggregation/fedavg.ts';
export type { AggregationUnit, AggregationResult, Strategy, StrategyContext, TrustedReference, UnitVerdict } from './aggregation/strategy.ts';
export { SecaggGroup, type SecaggResult, type SecaggGroupParams } from './secagg/group-protocol.ts';
export { homeGroups, partitionGroups, type GroupPolicy, type Grouping, type GroupingRequest, type PlannedGroup, type SittingOut } from './secagg/groups.ts';
export { GROUPING_KEY_BYTES, groupingKeyFromIdentity, groupingKeyFromSeed } from './secagg/grouping-key.ts';
export { checkSumRange, honestSumRange, type SumRange, type SumRangeVerdict } from './secagg/sum-range.ts';
export { SqliteStore, type CoordinatorStore, type ResumeState, type SqliteStoreOptions, type StoredRoundRecord } from './storage/store.ts';
export { DB_FILE_NAME, databasePath } from './storage/database.ts';
export type { ParticipantRow, RegisteredIdentity } from './storage/participants.ts';
export type { AuditEntry, AuditKind } from './storage/audit-log.ts';
export type { VerifyReport } from './storage/verify.ts';
export type { RoundRow, RoundStatus } from './storage/rounds.ts';
export type { Checkpoint } from './storage/checkpoints.ts';
export {
  BACKUP_MANIFEST_NAME,
  backupName,
  copyDatabaseFile,
  dataDirSource,
  pruneBackups,
  writeBackup,
  type BackupManifest,
  type BackupSource,
  type WriteBackupOptions,
} from './storage/backup.ts';
export { checkBackup, restoreBackup, type RestoreOptions, type RestoreResult } from './storage/restore.ts';
export { BackupSchedule, type BackupScheduleOptions, type BackupTaken } from './storage/backup-schedule.ts';
export { storageCode, storageError } from './storage/storage-errors.ts';
export { cliLogger, logFormatOption, logLevelOption, parseLogLevel, type LogFormat } from './cli/cli-logger.ts';
export { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, exitCodeFor, formatError, usageError } from './cli/exit-codes.ts';
export { runCli, type CliDependencies } from './cli/program.ts';
export { fedwardenProgram, runProgram, type CliIo } from './cli/run-program.ts';
