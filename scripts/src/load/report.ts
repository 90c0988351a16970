/**
 * bench:load's printed report: a summary table (the issue's figures in one row), the rounds one by one, and
 * the memory samples behind the per-connection figures. Pure: returns lines.
 */
import { textTable } from '../report/text-table.ts';
import { KB } from './load-stats.ts';
import type { LoadResult } from './run-load.ts';


const ms = (x: number) => x.toFixed(0);
const kb = (x: number) => x.toFixed(1);
const mb = (bytes: number) => (bytes / KB / KB).toFixed(1);

export function formatReport(r: LoadResult): string[] {
  const o = r.options;
  const m = r.memory;
  const lines: string[] = [];
  lines.push(
    `bench:load — ${o.clients} participants over ${Math.min(o.processes, o.clients)} process(es), ${o.rounds} round(s), ` +
      `${o.privacy}${o.privacy === 'secagg' ? ` (groups of ${o.groupSize})` : ''}, ${o.strategy}, ` +
      `${o.params} parameters, fake training ${o.trainMinMs}–${o.trainMaxMs} ms`,
  );
  lines.push('');
  lines.push(
    ...textTable(
      ['participants', 'rounds done', 'KB/idle conn (RSS)', 'KB/idle conn (heap+ext)', 'round ms', 'slowest train ms', 'overhead ms', 'frames/s', 'handshakes ms'],
      [
        [
          String(o.clients),
          `${r.summary.roundsCompleted}/${o.rounds}`,
          kb(m.perIdleConnection.rssKB),
          kb(m.perIdleConnection.heapExternalKB),
          ms(r.summary.meanRoundMs),
          ms(r.summary.meanSlowestTrainMs),
          ms(r.summary.meanOverheadMs),
          r.summary.framesPerSecond.toFixed(0),
          ms(r.handshake.totalMs),
        ],
      ],
    ),
  );
  lines.push('(round, slowest train and overhead are means over the rounds; frames/s over the whole run, coordinator side)');
  lines.push('');
  lines.push('rounds:');
  lines.push(
    ...textTable(
      ['round', 'outcome', 'reported', 'trained', 'round ms', 'slowest train ms', 'nominal ms', 'overhead ms', 'collect ms', 'aggregate ms', 'frames', 'frames/s', 'RSS MB'],
      r.rounds.map((row) => [
        String(row.round),
        row.outcome,
        `${row.reported}/${row.selected}`,
        String(row.trained),
        ms(row.roundMs),
        ms(row.slowestTrainMs),
        ms(row.slowestNominalMs),
        ms(row.overheadMs),
        row.collectionMs === null ? '-' : ms(row.collectionMs),
        row.aggregationMs === null ? '-' : ms(row.aggregationMs),
        String(row.frames),
        row.framesPerSecond.toFixed(0),
        row.rssMB.toFixed(1),
      ]),
    ),
  );
  lines.push('');
  lines.push(`coordinator memory${m.gc ? ' (after full GC)' : ' (no --expose-gc: samples include garbage)'}:`);
  lines.push(
    ...textTable(
      ['sample', 'connected', 'RSS MB', 'heapTotal MB', 'heapUsed MB', 'external MB', 'arrayBuffers MB'],
      [
        ['baseline', m.baseline],
        ['half', m.half],
        ['idle', m.idle],
      ].map(([label, s]) => {
        const sample = s as LoadResult['memory']['idle'];
        return [label as string, String(sample.connected), mb(sample.rss), mb(sample.heapTotal), mb(sample.heapUsed), mb(sample.external), mb(sample.arrayBuffers)];
      }),
    ),
  );
  const marginal = m.marginalPerIdleConnection;
  lines.push(
    `per idle connection: (idle − baseline)/${m.perIdleConnection.connections} = ${kb(m.perIdleConnection.rssKB)} KB RSS, ` +
      `${kb(m.perIdleConnection.heapExternalKB)} KB heap+external` +
      (marginal ? `; marginal (idle − half)/${marginal.connections} = ${kb(marginal.rssKB)} KB RSS, ${kb(marginal.heapExternalKB)} KB heap+external` : ''),
  );
  lines.push(
    `during rounds: peak RSS ${mb(m.peakRss)} MB, peak heap+external ${mb(m.peakHeapExternal)} MB; ` +
      `(peak − baseline)/N = ${kb(m.perActiveConnection.rssKB)} KB RSS, ${kb(m.perActiveConnection.heapExternalKB)} KB heap+external per connection`,
  );
  lines.push(
    `handshakes: ${o.clients} in ${ms(r.handshake.totalMs)} ms (waves ${r.handshake.waveMs.map(ms).join(' + ')} ms), ` +
      `${r.handshake.connectionsPerSecond.toFixed(0)} connections/s`,
  );
  lines.push(`participants' link trouble: ${r.summary.disconnects} lost sessions, ${r.summary.reconnectAttempts} reconnect attempts`);
  const c = r.criterion;
  lines.push(
    `criterion: coordinator memory ≤ ${c.limitKB} KB per idle connection, judged on RSS: ${kb(c.rssKB)} KB — ${c.met ? 'MET' : 'MISSED'} ` +
      `(heap+external: ${kb(c.heapExternalKB)} KB)`,
  );
  return lines;
}
