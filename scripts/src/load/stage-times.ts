/**
 * Where a round's time goes on the coordinator, for bench:load: the running sums of the coordinator's own
 * stage-duration histogram (metrics/coordinator-metrics.ts, `fedwarden_stage_duration_seconds`), read before
 * and after a round. "collection" runs from the round's start to the last update (sending the global,
 * training, uploads); "aggregation" is the review (strategy, reputation, anomaly detectors).
 */

export const STAGE_METRIC = 'fedwarden_stage_duration_seconds';

/** The part of a prom-client Registry this needs. */
export interface MetricSource {
  getSingleMetric(name: string): { get(): Promise<{ values: readonly { metricName?: string; labels: Record<string, unknown>; value: number }[] }> } | undefined;
}

/** Seconds summed so far, by stage label; empty when the coordinator has no such histogram. */
export async function stageSums(registry: MetricSource): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric(STAGE_METRIC);
  if (!metric) return {};
  const sums: Record<string, number> = {};
  for (const v of (await metric.get()).values) {
    if (v.metricName === `${STAGE_METRIC}_sum` && typeof v.labels.stage === 'string') sums[v.labels.stage] = v.value;
  }
  return sums;
}

/** Milliseconds of `stage` between two readings, or null when the stage was never observed. */
export function stageMs(from: Record<string, number>, to: Record<string, number>, stage: string): number | null {
  const end = to[stage];
  return end === undefined ? null : (end - (from[stage] ?? 0)) * 1000;
}
