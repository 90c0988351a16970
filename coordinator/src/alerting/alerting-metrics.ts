/**
 * Alerting's Prometheus series, registered on the coordinator's own registry (metrics/coordinator-metrics.ts)
 * from here, so that the metrics module needs no change: open alerts by severity, and webhook deliveries by
 * outcome. Label values come from fixed sets.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { METRICS_PREFIX } from '../metrics/coordinator-metrics.ts';
import type { TrackedAlert } from './tracked-alert.ts';
import { ALERT_SEVERITIES } from './tracked-alert.ts';
import type { DeliveryOutcome } from './webhook-channel.ts';

export interface AlertingMetrics {
  delivery(outcome: DeliveryOutcome): void;
}

export function alertingMetrics(registry: Registry, open: () => readonly TrackedAlert[]): AlertingMetrics {
  const registers = [registry];
  new Gauge({
    name: `${METRICS_PREFIX}alerting_open_alerts`,
    help: 'Alerts firing now (opened by the alerting rules and not resolved), by severity.',
    labelNames: ['severity'],
    registers,
    collect() {
      const alerts = open();
      for (const severity of ALERT_SEVERITIES) this.set({ severity }, alerts.filter((a) => a.severity === severity).length);
    },
  });
  const deliveries = new Counter({
    name: `${METRICS_PREFIX}alerting_webhook_notifications_total`,
    help: 'Alert notifications for the webhook, by outcome: delivered, retried (one per failed attempt that is retried), failed (gave up), dropped (queue full or shutdown).',
    labelNames: ['outcome'],
    registers,
  });
  for (const outcome of ['delivered', 'retried', 'failed', 'dropped'] as const) deliveries.inc({ outcome }, 0);
  return { delivery: (outcome) => deliveries.inc({ outcome }) };
}
