/**
 * bench:load — many concurrently connected participants with light fake trainers complete rounds against one
 * coordinator on loopback; reports coordinator memory per idle connection, round overhead (round time minus
 * the slowest participant's training time), frames per second and the time to connect everyone.
 *
 *   pnpm bench:load [--clients 1000] [--rounds 3] [--processes 2] [--params 4096] [--train-ms 50-200]
 *                   [--privacy trusted|secagg] [--group-size 5] [--strategy fedavg] [--json]
 *
 * Processes: the coordinator runs alone in a child process (started with --expose-gc), so its memory is
 * its own; the participants are FederatedClients spread over --processes child processes; this process only
 * orchestrates over IPC (load/run-load.ts). Everything stays on 127.0.0.1 with the real post-quantum
 * channel, and in secagg mode the real SecAgg+ protocol.
 *
 * Memory per idle connection = (coordinator memory with N idle participants − before any connection) / N,
 * both after full GCs, by two measures: RSS (what the OS charges the process) and heapUsed + external (live
 * JavaScript objects and the Buffers they hold). The ≤ 100 KB criterion is judged on RSS, the stricter and
 * the one an operator sizing a server sees; heap + external is printed beside it. RSS also carries one-time
 * costs (code compiled for the first handshakes, allocator arenas), so the marginal cost of the second half
 * of the connections is printed too.
 *
 * Frames are WebSocket data frames counted inside the coordinator process (load/frame-counter.ts); frames/s
 * is their number over the wall time of the run. The aggregation strategy defaults to FedAvg: this bench
 * measures the coordinator's networking and round machinery; bench:robust measures the robust pipeline.
 */
import { toFedwardenError } from '@fedwarden/shared';
import { LOAD_USAGE, parseLoadArgs } from './load/load-options.ts';
import { formatReport } from './load/report.ts';
import { runLoadBench } from './load/run-load.ts';

async function main(argv: string[]): Promise<void> {
  let parsed: ReturnType<typeof parseLoadArgs>;
  try {
    parsed = parseLoadArgs(argv);
  } catch (err) {
    process.stderr.write(`${toFedwardenError(err).message}\nusage: ${LOAD_USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const result = await runLoadBench(parsed.options, (line) => process.stderr.write(line + '\n'));
  if (parsed.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else process.stdout.write(formatReport(result).join('\n') + '\n');
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const e = toFedwardenError(err);
  process.stderr.write(`bench:load failed (${e.code}): ${e.message}\n`);
  process.exitCode = 1;
});
