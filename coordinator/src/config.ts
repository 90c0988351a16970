/**
 * Coordinator configuration: a JSON file validated field by field. Every limit has a documented default;
 * unknown keys are errors (a typo must not silently fall back to a default).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DEFAULT_LIMITS, FedwardenError } from '@fedwarden/shared';
import { STRATEGY_NAMES } from './aggregation/registry.ts';
import { SERVER_OPTIMIZERS } from './aggregation/server-optimizer.ts';
import { TrustedProxies } from './net/trusted-proxies.ts';

const positiveInt = z.number().int().positive();

/**
 * Sockets maxConnections keeps beyond maxParticipants (5%, at least 1, at most 64): room for participants that
 * replace a half-open link, and for newcomers, while every participant is connected.
 */
export function connectionHeadroom(maxConnections: number): number {
  return Math.max(1, Math.min(64, Math.ceil(maxConnections / 20)));
}

/** Stable participant id, used in logs, metrics and storage (and checked by `fedwarden token` before minting). */
export const participantIdSchema = z.string().min(1).max(128).regex(/^[A-Za-z0-9._-]+$/, 'id: letters, digits, . _ - only');

const participantSchema = z.strictObject({
  id: participantIdSchema,
  /** SHA-256 of the enrolment token, lowercase hex. The token itself is never stored. */
  tokenSha256: z.string().regex(/^[0-9a-f]{64}$/, 'tokenSha256: 64 lowercase hex characters'),
});

/**
 * An operator's module (extensions/load-extensions.ts): its file path, relative to the config file's directory,
 * or that path with options handed to the module's factory.
 */
const extensionSchema = z.union([
  z.string().min(1),
  z.strictObject({
    module: z.string().min(1),
    /** Given to the module's factory as ctx.options. */
    options: z.record(z.string(), z.unknown()).default({}),
  }),
]);

const alertSeverity = z.enum(['info', 'warning', 'critical']);

/** alerting.webhook: where alert notifications are POSTed (alerting/webhook-channel.ts). */
const webhookSchema = z
  .strictObject({
    /** http(s) URL of the receiver. Its path and query are never logged (they often hold a token). */
    url: z
      .string()
      .refine((u) => /^https?:\/\//i.test(u) && URL.canParse(u), 'url: an http:// or https:// URL')
      // fetch refuses credentials in a URL with an error quoting it whole; the message must not echo it either.
      .refine((u) => !URL.canParse(u) || (new URL(u).username === '' && new URL(u).password === ''), 'url: must not carry credentials (user:password@)'),
    /** The least severity sent to this receiver; a resolution follows its firing. */
    minSeverity: alertSeverity.default('warning'),
    /** Each request is aborted after this long without response headers, ms. */
    timeoutMs: positiveInt.default(5_000),
    /** Attempts per notification, the first included (network errors, timeouts, 408, 425, 429, 5xx are retried). */
    maxAttempts: positiveInt.default(8),
    /** Exponential backoff with full jitter between attempts: random(0, min(backoffMaxMs, backoffBaseMs · 2^retry)), ms. */
    backoffBaseMs: positiveInt.default(500),
    backoffMaxMs: positiveInt.default(60_000),
    /** Notifications waiting behind the one in flight; beyond it one of the same alert is replaced, else the oldest dropped (counted and logged). */
    queueSize: positiveInt.default(1_000),
    /** At shutdown, how long to keep delivering what is queued before dropping it, ms. */
    drainMs: z.number().int().min(0).default(5_000),
    /**
     * HMAC-SHA256 key for X-Fedwarden-Signature: a file readable by its owner only (chmod 600), or an environment
     * variable's name. Never the secret itself: config files get copied and shown.
     */
    secretFile: z.string().min(1).optional(),
    secretEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'secretEnv: an environment variable name').optional(),
  })
  .refine((w) => w.secretFile === undefined || w.secretEnv === undefined, 'give secretFile or secretEnv, not both')
  .refine((w) => w.backoffMaxMs >= w.backoffBaseMs, 'backoffMaxMs must be at least backoffBaseMs');

/**
 * The participants' local training plan by default: Adam at 0.01 (fresh each round, as Reddi et al. reset client
 * optimizers) for 2 epochs of batches of 32. Measured on the MNIST task (docs/convergence.md): 0.01 reaches 85 %
 * in 7 rounds with 50 participants where 0.003 needed about 20.
 */
export const TRAINING_DEFAULTS = { epochs: 2, batchSize: 32, learningRate: 0.01 } as const;

/** Server optimizer defaults; learningRate, when not given, comes from the kind (DEFAULT_SERVER_LEARNING_RATE). */
export const SERVER_OPTIMIZER_DEFAULTS = { kind: 'none', momentum: 0.9, beta2: 0.99, tau: 1e-3 } as const;

const serverOptimizerSchema = z
  .strictObject({
    kind: z.enum(SERVER_OPTIMIZERS).default(SERVER_OPTIMIZER_DEFAULTS.kind),
    /** η; default per kind (aggregation/server-optimizer.ts, DEFAULT_SERVER_LEARNING_RATE). */
    learningRate: z.number().positive().optional(),
    /** β₁: server momentum (fedavgm) or first-moment decay (fedadam, fedyogi). */
    momentum: z.number().min(0).lt(1).default(SERVER_OPTIMIZER_DEFAULTS.momentum),
    /** β₂: second-moment decay (fedadam, fedyogi). */
    beta2: z.number().min(0).lt(1).default(SERVER_OPTIMIZER_DEFAULTS.beta2),
    /** τ: adaptivity floor (fedadam, fedyogi). */
    tau: z.number().positive().default(SERVER_OPTIMIZER_DEFAULTS.tau),
  })
  .default(SERVER_OPTIMIZER_DEFAULTS);

export const configSchema = z.strictObject({
  /** Interface to listen on. Default loopback; set "0.0.0.0" (behind TLS) for a real deployment. */
  host: z.string().default('127.0.0.1'),
  /** WebSocket + HTTP port; 0 picks a free port. */
  port: z.number().int().min(0).max(65535).default(8787),
  /** Directory for the coordinator's long-term key (created 0700, key file 0600). */
  dataDir: z.string().default('./data'),
  /**
   * Scheduled online backups of the data dir, taken by the running coordinator (storage/backup-schedule.ts;
   * README "Backups and recovery"). Unset: none (`fedwarden backup` takes one by hand).
   */
  backups: z
    .strictObject({
      /** Directory that receives one new fedwarden-backup-<time> directory per backup (created 0700); best on another disk. */
      dir: z.string().min(1),
      /** Back up after every n-th finished round; 0: not by rounds. */
      everyRounds: z.number().int().min(0).default(0),
      /** Back up every this many ms; 0: not by time. */
      intervalMs: z.number().int().min(0).default(0),
      /** Complete backups kept in `dir`; older ones are removed after each new one. */
      keep: positiveInt.default(7),
    })
    .refine((b) => b.everyRounds > 0 || b.intervalMs > 0, 'set everyRounds or intervalMs (or both) above 0')
    .optional(),
  /** Seed for participant selection and the initial adapter, so that runs are reproducible. */
  seed: z.number().int().default(1),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /**
   * The operator listener (operator/operator-server.ts), apart from the participants' port: /healthz for anyone;
   * /readyz, /metrics and the dashboard only with `Authorization: Bearer <operator token>`. Keep it on loopback,
   * or put a TLS reverse proxy in front of it (README, "Operating a coordinator").
   */
  operator: z
    .strictObject({
      /** false: no operator listener at all (no health, readiness, metrics or dashboard over HTTP). */
      enabled: z.boolean().default(true),
      /** Interface to listen on. Default loopback: only this machine (a local Prometheus, a proxy, an SSH tunnel). */
      host: z.string().default('127.0.0.1'),
      /** Port, apart from the participants' `port`; 0 picks a free port (logged at start). */
      port: z.number().int().min(0).max(65535).default(8788),
      /**
       * SHA-256 of the operator token, lowercase hex (`fedwarden token --operator` mints one and prints this entry).
       * Unset: every path but /healthz answers 401, and the coordinator warns at start.
       */
      tokenSha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex characters, as `fedwarden token --operator` prints').optional(),
      /** Most simultaneous operator connections; each open dashboard holds one for its live updates. */
      maxConnections: positiveInt.default(64),
      /** Of those, most from one address (an IPv6 /64 counts as one), so that one slow client cannot hold them all. */
      maxConnectionsPerAddress: positiveInt.default(16),
      /** Time a client has to send a whole request, headers included, ms (then 408). Responses, live streams included, are not limited. */
      requestTimeoutMs: positiveInt.default(5_000),
    })
    .default({ enabled: true, host: '127.0.0.1', port: 8788, maxConnections: 64, maxConnectionsPerAddress: 16, requestTimeoutMs: 5_000 }),
  /**
   * Enrolled participants (`fedwarden token <id>` prints an entry). A coordinator refuses to start with none, or
   * with fewer than rounds.minParticipants (checkEnrolment); other commands read a config without them.
   */
  participants: z.array(participantSchema).default([]),
  model: z
    .strictObject({
      /**
       * SHA-256 of the adapter manifest participants must present. Unset: the first authenticated participant's
       * manifest is adopted (trust on first use, logged) and every later one must match it.
       */
      manifestSha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    })
    .default({}),
  rounds: z
    .strictObject({
      /** Number of rounds to run; the coordinator tells participants `finished` afterwards. */
      count: positiveInt.default(10),
      /** A round starts once this many participants are connected. */
      minParticipants: positiveInt.default(2),
      /** Most participants selected per round (0 = all connected). */
      maxParticipants: z.number().int().min(0).default(0),
      /** Fraction of selected participants whose updates must arrive for the round to complete. */
      quorum: z.number().gt(0).max(1).default(0.5),
      /** Deadline for updates after the round starts, ms. Stragglers are dropped. */
      deadlineMs: positiveInt.default(120_000),
      /** Most time to wait for minParticipants before giving up on the run, ms (0 = forever). */
      waitForParticipantsMs: z.number().int().min(0).default(0),
      /**
       * After the last round, how long the coordinator CLI stays up for participants that have not confirmed the
       * end of the federation (a link lost in the last round): they reconnect and get `finished` with the final
       * adapter. It exits sooner once every participant that connected has confirmed; 0 exits at once, ms.
       */
      finishGraceMs: z.number().int().min(0).default(30_000),
    })
    .default({ count: 10, minParticipants: 2, maxParticipants: 0, quorum: 0.5, deadlineMs: 120_000, waitForParticipantsMs: 0, finishGraceMs: 30_000 }),
  /**
   * "trusted": the coordinator sees each participant's update (encrypted on the wire) and aggregates per
   * participant. "secagg": participants are partitioned into secure groups; SecAgg+ runs inside each group and
   * the coordinator learns only each group's sum.
   */
  privacy: z.enum(['trusted', 'secagg']).default('trusted'),
  secagg: z
    .strictObject({
      /** Members per secure group; a round with fewer selected participants than this aborts. */
      groupSize: z.number().int().min(3).max(DEFAULT_LIMITS.maxGroupSize).default(5),
      /**
       * "fixed": every enrolled participant has a home group (slices of the enrolled in the order of a keyed hash
       * under the coordinator's grouping key, secagg/grouping-key.ts), run each round with its selected members;
       * absences, exclusions and dropouts never move anyone, enrolling or removing participants re-cuts the
       * slices. An observer of many rounds can difference group sums only where a group ran with different
       * members (minGroupSize), and per-participant reputation only sees group evidence. "reshuffle": new groups
       * each round, which lets reputation single out attackers but lets an observer of many rounds disaggregate
       * updates (Lam et al., ICML 2021). "reputation": new groups each round, filled in order of reputation, so
       * that suspects share groups with suspects and trusted participants with trusted ones (adaptive group
       * testing); the privacy cost of "reshuffle". Groups are drawn with the grouping key, never config.seed, so
       * participants cannot predict them. Numbers: docs/secure-groups.md.
       */
      groupPolicy: z.enum(['fixed', 'reshuffle', 'reputation']).default('fixed'),
      /**
       * "fixed" only: the fewest selected members with which a home group runs; one with fewer sits out the round
       * (recorded with a reason per group) rather than join another group. 0 = default max(3, groupSize − 1), so that
       * one absent or excluded member does not idle the other four; groupSize stops disaggregation for good but
       * idles every group that misses anyone (docs/secure-groups.md has the numbers). At most groupSize.
       */
      minGroupSize: z.number().int().min(0).default(0),
      /**
       * Neighbour degree k in the group's graph; 0 = default: complete up to 16 members, else the smallest
       * even k ≥ 2·⌈log2 n⌉ (SecAgg+) that survives `maxDropout` with failure probability ≤ 1e-3.
       */
      degree: z.number().int().min(0).default(0),
      /** Fraction of a group expected to drop in a round; sizes the default degree. */
      maxDropout: z.number().min(0).lt(1).default(0.1),
      /** Shamir threshold t; 0 = default ⌈2k/3⌉ (more than half of k; about two thirds for a malicious coordinator). */
      threshold: z.number().int().min(0).default(0),
      /** Updates are clipped to [-clip, clip] per coordinate before quantization. */
      clip: z.number().positive().default(1),
      /** Deadline for each protocol stage after training (keys → encaps → shares → masked → unmask), ms. */
      stageTimeoutMs: positiveInt.default(30_000),
    })
    .default({ groupSize: 5, groupPolicy: 'fixed', minGroupSize: 0, degree: 0, maxDropout: 0.1, threshold: 0, clip: 1, stageTimeoutMs: 30_000 }),
  aggregation: z
    .strictObject({
      /**
       * "fedwarden": sanity → median-based norm bound → DBSCAN on cosine distances (majority cluster) →
       * reputation weighting → weighted mean. Baselines for comparison: "fedavg", "median", "trimmed-mean",
       * "krum", "multi-krum", "centered-clipping". An operator's own strategy (extensions.strategy, or
       * CoordinatorOptions.strategy) replaces it.
       */
      strategy: z.enum(STRATEGY_NAMES).default('fedwarden'),
      /** Norm bound: units are clipped to clipFactor × the median unit norm (fedwarden). */
      clipFactor: z.number().positive().default(2),
      /** Fraction trimmed at each end per coordinate (trimmed-mean). */
      trimFraction: z.number().min(0).lt(0.5).default(0.2),
      /** Assumed Byzantine fraction f/n (krum, multi-krum). */
      byzantineFraction: z.number().min(0).lt(0.5).default(0.2),
      /**
       * Sample counts are self-reported: a unit's weight (and a member's weight inside a secure group) is
       * capped at weightCap × the round's median. 0 disables.
       */
      weightCap: z.number().min(0).default(3),
      /**
       * How the round's aggregate moves the global adapter (aggregation/server-optimizer.ts; Reddi et al., ICLR
       * 2021): "none" adds it (FedAvg), "fedavgm" with server momentum, "fedadam" / "fedyogi" with adaptive
       * per-coordinate steps. The aggregate is the strategy's output, robust or not.
       */
      serverOptimizer: serverOptimizerSchema,
    })
    .default({ strategy: 'fedwarden', clipFactor: 2, trimFraction: 0.2, byzantineFraction: 0.2, weightCap: 3, serverOptimizer: SERVER_OPTIMIZER_DEFAULTS }),
  reputation: z
    .strictObject({
      /** λ: weight of past evidence each round (beta reputation with forgetting). */
      forgetting: z.number().gt(0).max(1).default(0.9),
      /** A participant whose score falls below this is excluded from selection for cooldownRounds. */
      excludeBelow: z.number().min(0).lt(1).default(0.25),
      cooldownRounds: z.number().int().min(0).default(5),
      /** Scores below this are reported as flagged (dashboard, detection metrics). */
      flagBelow: z.number().min(0).lt(1).default(0.4),
    })
    .default({ forgetting: 0.9, excludeBelow: 0.25, cooldownRounds: 5, flagBelow: 0.4 }),
  anomaly: z
    .strictObject({
      /** Rounds of unit features the isolation forest scores against. */
      windowRounds: z.number().int().min(1).default(10),
      /** Isolation score from which a unit raises an alert (≈0.5 is normal, → 1 anomalous). */
      isolationThreshold: z.number().gt(0.5).lt(1).default(0.6),
      /** Accuracy drop (absolute) below the recent best that raises a degradation alert. */
      accuracyDrop: z.number().positive().default(0.05),
      /**
       * An isolation-forest alert (warning or worse) gives its unit's members doubt evidence (reputation) only when
       * the forest scored against at least this many rounds and rows of history (anomaly/anomaly-doubt.ts). A
       * evidenceMinRounds above windowRounds means never.
       */
      evidenceMinRounds: z.number().int().min(1).default(3),
      evidenceMinRows: z.number().int().min(1).default(50),
    })
    .default({ windowRounds: 10, isolationThreshold: 0.6, accuracyDrop: 0.05, evidenceMinRounds: 3, evidenceMinRows: 50 }),
  /**
   * Rules over the anomaly detectors' findings and the channels they notify (alerting/; README "Alerting"). One
   * open alert per key (a participant, a secure group's members, or a round-level feature); repeats update it.
   * The log channel is always on; the webhook is optional.
   */
  alerting: z
    .strictObject({
      /** Findings below this severity are neither tracked nor notified ("info": weak evidence on its own). */
      minSeverity: alertSeverity.default('warning'),
      /** An open alert resolves after this many consecutive rounds in which its detector judged and found nothing for its key. */
      resolveAfterCleanRounds: positiveInt.default(3),
      /** Resolve a participant's (or secure group's) alert once reputation excludes all of it, or it is no longer enrolled. */
      resolveOnExclusion: z.boolean().default(true),
      /** After this many repeats at one severity, an open alert goes up a level (warning → critical); 0: never. */
      escalateAfterRepeats: z.number().int().min(0).default(3),
      webhook: webhookSchema.optional(),
    })
    .default({ minSeverity: 'warning', resolveAfterCleanRounds: 3, resolveOnExclusion: true, escalateAfterRepeats: 3 }),
  /**
   * The operator's own code, each an ES module whose default export is a factory (ctx) => the extension, or a
   * promise of it (extensions/load-extensions.ts). Loaded by the `coordinator` command; an embedding process
   * passes the same things as CoordinatorOptions.
   */
  extensions: z
    .strictObject({
      /** A Strategy (aggregation/strategy.ts), used instead of aggregation.strategy. */
      strategy: extensionSchema.optional(),
      /** (global, round) => accuracy | { accuracy?, loss? }: scores each completed round's global adapter on the operator's data. */
      evaluator: extensionSchema.optional(),
      /** (global, round) => delta | { delta, replicates }: the round's trusted reference, trained on the operator's root data. */
      reference: extensionSchema.optional(),
    })
    .default({}),
  training: z
    .strictObject({
      epochs: z.number().int().min(1).max(1000).default(TRAINING_DEFAULTS.epochs),
      batchSize: positiveInt.default(TRAINING_DEFAULTS.batchSize),
      learningRate: z.number().positive().default(TRAINING_DEFAULTS.learningRate),
    })
    .default(TRAINING_DEFAULTS),
  limits: z
    .strictObject({
      /** Largest WebSocket frame, bytes; larger closes with 1009. */
      maxFrameBytes: positiveInt.default(DEFAULT_LIMITS.maxFrameBytes),
      /** Largest adapter, parameters. */
      maxVectorLength: positiveInt.default(DEFAULT_LIMITS.maxVectorLength),
      /** Largest string field, bytes. */
      maxStringBytes: positiveInt.default(DEFAULT_LIMITS.maxStringBytes),
      /** Most entries in an adapter manifest. */
      maxManifestEntries: positiveInt.default(DEFAULT_LIMITS.maxManifestEntries),
      /** Most members of a secure group (at most 255: Shamir over GF(2^8)). */
      maxGroupSize: z.number().int().min(3).max(255).default(DEFAULT_LIMITS.maxGroupSize),
      /**
       * Most simultaneous sockets on the participants' port, counted from TCP accept: before their WebSocket
       * upgrade, handshaking, or authenticated. One beyond it is refused with FULL (net/admission.ts). Must
       * exceed maxParticipants by connectionHeadroom(maxConnections), so that participants replacing half-open links
       * find room when every participant is connected.
       */
      maxConnections: positiveInt.default(1064),
      /**
       * Share of maxConnections that unauthenticated sockets (not yet past their hello) cannot take: kept for
       * authenticated participants, so that stalled handshakes never crowd them out. In [0, 1).
       */
      reservedShare: z.number().min(0).lt(1).default(0.5),
      /**
       * Most unauthenticated sockets from one address (IPv4 address; IPv6 /64 prefix); one more is refused with
       * RATE_LIMITED (4011). Authenticated participants behind one NAT are not limited by it. Behind a reverse
       * proxy every socket comes from the proxy's address unless the proxy is listed in trustedProxies.
       */
      maxUnauthenticatedPerAddress: z.number().int().min(0).default(64),
      /**
       * Reverse proxies (addresses or CIDR ranges) in front of the participants' port. A socket from one counts
       * under the proxy's address without a per-address quota until its upgrade request, then under the client
       * address its X-Forwarded-For names (the rightmost entry that is not a trusted proxy); the proxy must set or
       * append that header. X-Forwarded-For from any other peer is ignored. Default: none.
       */
      trustedProxies: z.array(z.string().min(1)).max(256).default([]),
      /**
       * When a new socket finds its address's quota or the unauthenticated room full, it displaces the oldest
       * socket there that has been unauthenticated this long (closed with FULL); only if none is that old is
       * the newcomer refused. An honest handshake takes milliseconds; a slow client on a slow link, a second, ms.
       */
      displaceAfterMs: z.number().int().min(0).default(3_000),
      /**
       * An address whose socket stalled (timed out, or unauthenticated for displaceAfterMs and then gone without
       * authenticating, other than displaced by another address) may not displace others for this long, so that an attacker that reopens at once cannot keep displacing
       * its own stalled sockets ahead of honest newcomers. It may still take free room, ms.
       */
      stallPenaltyMs: z.number().int().min(0).default(30_000),
      /** Time allowed from TCP accept to a completed WebSocket upgrade; a slower socket gets HTTP 408 (TIMEOUT), ms. */
      upgradeTimeoutMs: positiveInt.default(5_000),
      /** Time allowed from the WebSocket upgrade to an authenticated hello, ms. */
      handshakeTimeoutMs: positiveInt.default(10_000),
      /** WebSocket ping interval; a peer that misses one pong is terminated, ms. */
      heartbeatIntervalMs: positiveInt.default(15_000),
      /** Bytes queued to one socket above which it is treated as a stalled consumer and closed. */
      maxBufferedBytes: positiveInt.default(64 * 1024 * 1024),
      /**
       * Most authenticated participants connected at once; a hello beyond it closes with FULL (4009). A participant
       * reconnecting replaces its own connection and is always admitted. Sockets not yet authenticated count
       * against maxConnections only, so it must stay connectionHeadroom(maxConnections) below maxConnections.
       * Default: 1000, or less to fit a smaller maxConnections. (rounds.maxParticipants is how many of the connected
       * a round selects.)
       */
      maxParticipants: positiveInt.optional(),
      /**
       * Per-connection message rate limit (token bucket): sustained frames per second, and how many may come back
       * to back. Exceeding it closes the connection with RATE_LIMITED (4011). Every frame counts, pings and pongs
       * included; an honest participant sends a handful of frames per round and a pong per heartbeat.
       */
      messageRatePerSecond: z.number().positive().default(50),
      messageBurst: positiveInt.default(100),
      /**
       * An update whose L2 norm exceeds this is rejected as BAD_UPDATE (4006) for that participant; the round goes
       * on with the others. Far above honest adapter steps and above the scaled updates the robust pipeline is
       * meant to weigh, it only stops values that would swamp the aggregate numerically. Trusted mode only: in
       * secure aggregation each participant clips its own update to secagg.clip before masking.
       */
      maxUpdateNorm: z.number().positive().default(1e6),
    })
    .transform((limits) => ({ ...limits, maxParticipants: limits.maxParticipants ?? Math.max(1, Math.min(1000, limits.maxConnections - connectionHeadroom(limits.maxConnections))) }))
    .default({
      maxFrameBytes: DEFAULT_LIMITS.maxFrameBytes,
      maxVectorLength: DEFAULT_LIMITS.maxVectorLength,
      maxStringBytes: DEFAULT_LIMITS.maxStringBytes,
      maxManifestEntries: DEFAULT_LIMITS.maxManifestEntries,
      maxGroupSize: DEFAULT_LIMITS.maxGroupSize,
      maxConnections: 1064,
      reservedShare: 0.5,
      maxUnauthenticatedPerAddress: 64,
      trustedProxies: [],
      displaceAfterMs: 3_000,
      stallPenaltyMs: 30_000,
      upgradeTimeoutMs: 5_000,
      handshakeTimeoutMs: 10_000,
      heartbeatIntervalMs: 15_000,
      maxBufferedBytes: 64 * 1024 * 1024,
      maxParticipants: 1000,
      messageRatePerSecond: 50,
      messageBurst: 100,
      maxUpdateNorm: 1e6,
    }),
});

export type CoordinatorConfig = z.infer<typeof configSchema>;
export type CoordinatorConfigInput = z.input<typeof configSchema>;

/** Validate a config object, filling defaults. Throws BAD_CONFIG listing every problem. */
export function parseConfig(input: unknown): CoordinatorConfig {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new FedwardenError('BAD_CONFIG', `invalid coordinator config: ${problems}`);
  }
  const ids = new Set<string>();
  const hashes = new Set<string>();
  for (const p of result.data.participants) {
    if (ids.has(p.id)) throw new FedwardenError('BAD_CONFIG', `invalid coordinator config: duplicate participant id ${p.id}`);
    if (hashes.has(p.tokenSha256)) throw new FedwardenError('BAD_CONFIG', `invalid coordinator config: participants share a token (${p.id})`);
    ids.add(p.id);
    hashes.add(p.tokenSha256);
  }
  const { secagg, limits, rounds, operator } = result.data;
  if (operator.enabled && operator.port !== 0 && operator.port === result.data.port) {
    throw new FedwardenError('BAD_CONFIG', `invalid coordinator config: operator.port ${operator.port} is the participants' port; give the operator listener a port of its own`);
  }
  const headroom = connectionHeadroom(limits.maxConnections);
  if (limits.maxParticipants + headroom > limits.maxConnections) {
    throw new FedwardenError(
      'BAD_CONFIG',
      `invalid coordinator config: limits.maxConnections ${limits.maxConnections} leaves no room beyond limits.maxParticipants ${limits.maxParticipants}: ` +
        `it must be at least maxParticipants + ${headroom}, so that a participant replacing a half-open link is not refused FULL when everyone is connected`,
    );
  }
  try {
    new TrustedProxies(limits.trustedProxies);
  } catch (err) {
    throw new FedwardenError('BAD_CONFIG', `invalid coordinator config: ${(err as Error).message}`, { cause: err });
  }
  if (rounds.minParticipants > limits.maxParticipants) {
    throw new FedwardenError('BAD_CONFIG', 'invalid coordinator config: rounds.minParticipants exceeds limits.maxParticipants');
  }
  if (secagg.groupSize > limits.maxGroupSize) {
    throw new FedwardenError('BAD_CONFIG', `invalid coordinator config: secagg.groupSize exceeds limits.maxGroupSize`);
  }
  const minGroupSize = effectiveMinGroupSize(secagg);
  if (secagg.minGroupSize !== 0 && (secagg.minGroupSize < 3 || secagg.minGroupSize > secagg.groupSize)) {
    throw new FedwardenError('BAD_CONFIG', `invalid coordinator config: secagg.minGroupSize ${secagg.minGroupSize} must be 0 (default) or in 3..groupSize ${secagg.groupSize}`);
  }
  if (result.data.privacy === 'secagg' && secagg.groupPolicy === 'fixed' && rounds.maxParticipants > 0) {
    throw new FedwardenError(
      'BAD_CONFIG',
      'invalid coordinator config: rounds.maxParticipants samples participants one by one, which leaves most fixed home groups ' +
        'short of secagg.minGroupSize (they sit out the round); with privacy "secagg" use groupPolicy "reshuffle" or "reputation", or rounds.maxParticipants 0',
    );
  }
  if (secagg.groupPolicy === 'fixed' && secagg.threshold > 0 && secagg.threshold > Math.min(secagg.degree > 0 ? secagg.degree : Infinity, minGroupSize - 1)) {
    throw new FedwardenError(
      'BAD_CONFIG',
      `invalid coordinator config: secagg.threshold ${secagg.threshold} exceeds the degree of a fixed group running with secagg.minGroupSize ${minGroupSize} members`,
    );
  }
  if (secagg.degree % 2 === 1) {
    throw new FedwardenError('BAD_CONFIG', 'invalid coordinator config: secagg.degree must be even (a k-regular ring needs k/2 per side)');
  }
  const k = secagg.degree > 0 ? Math.min(secagg.degree, secagg.groupSize - 1) : secagg.groupSize - 1;
  if (secagg.threshold > k) {
    throw new FedwardenError('BAD_CONFIG', `invalid coordinator config: secagg.threshold ${secagg.threshold} exceeds the degree ${k}`);
  }
  if (secagg.threshold > 0 && 2 * secagg.threshold <= k) {
    // With 2t ≤ k a coordinator could name half of a member's neighbours "survived" and half "dropped" and
    // collect t shares of both its secrets; honest participants refuse such a setup.
    throw new FedwardenError('BAD_CONFIG', `invalid coordinator config: secagg.threshold must exceed half the degree (${k})`);
  }
  return result.data;
}

/** secagg.minGroupSize, its default (0) resolved: max(3, groupSize − 1). */
export function effectiveMinGroupSize(secagg: Pick<CoordinatorConfig['secagg'], 'groupSize' | 'minGroupSize'>): number {
  return secagg.minGroupSize > 0 ? secagg.minGroupSize : Math.max(3, secagg.groupSize - 1);
}

/** How an operator enrols a participant, for the messages of a config that cannot run. */
const HOW_TO_ENROL =
  'enrol each participant with `fedwarden token <participant-id>`, which prints the token to give it and a config ' +
  'entry { "id": …, "tokenSha256": … } to add under "participants"';

/**
 * Refuse a config whose first round could never start: nobody enrolled, or rounds.minParticipants above the
 * number enrolled (the coordinator would wait forever). Checked when a coordinator is built, not in
 * parseConfig: `fedwarden fingerprint` and `verify` read a config before anyone is enrolled. Throws BAD_CONFIG.
 */
export function checkEnrolment(config: CoordinatorConfig): void {
  const enrolled = config.participants.length;
  if (enrolled === 0) {
    throw new FedwardenError('BAD_CONFIG', `no participants are enrolled, so no round can start: ${HOW_TO_ENROL}`);
  }
  const { minParticipants } = config.rounds;
  if (minParticipants > enrolled) {
    throw new FedwardenError(
      'BAD_CONFIG',
      `rounds.minParticipants is ${minParticipants} but only ${enrolled} participant${enrolled === 1 ? ' is' : 's are'} enrolled, ` +
        `so no round can start: lower rounds.minParticipants, or ${HOW_TO_ENROL}`,
    );
  }
}

export function loadConfig(path: string): CoordinatorConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new FedwardenError('BAD_CONFIG', `cannot read config ${path}: ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FedwardenError('BAD_CONFIG', `config ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseConfig(json);
}
