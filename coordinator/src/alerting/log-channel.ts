/**
 * The log channel: one structured line per notified transition, at the level its severity calls for (info →
 * info, warning → warn, critical → error; a resolution at info). Always on; its minSeverity is the rules'.
 */
import type { Logger } from '@fedwarden/shared';
import type { AlertSeverity } from '../anomaly/alert.ts';
import type { AlertNotification, NotificationChannel } from './notification.ts';

export class LogChannel implements NotificationChannel {
  readonly name = 'log';

  constructor(
    private readonly log: Logger,
    readonly minSeverity: AlertSeverity,
  ) {}

  notify(n: AlertNotification): void {
    const fields = {
      alertId: n.id,
      key: n.key,
      event: n.event,
      severity: n.severity,
      detector: n.detector,
      ...(n.feature !== null ? { feature: n.feature } : {}),
      ...(n.unit !== null ? { unit: n.unit, participants: n.participants } : {}),
      round: n.round,
      firstRound: n.firstRound,
      occurrences: n.occurrences,
      score: n.score,
      ...(n.previousSeverity !== null ? { previousSeverity: n.previousSeverity, escalation: n.escalation } : {}),
      ...(n.resolution !== null ? { resolution: n.resolution } : {}),
    };
    if (n.status === 'resolved') {
      this.log.info(`alert resolved (${n.resolution ?? 'resolved'}): ${n.message}`, fields);
      return;
    }
    const line = `alert ${n.event === 'escalated' ? 'escalated' : 'firing'}: ${n.message}`;
    if (n.severity === 'critical') this.log.error(line, fields);
    else if (n.severity === 'warning') this.log.warn(line, fields);
    else this.log.info(line, fields);
  }

  async close(): Promise<void> {}
}
