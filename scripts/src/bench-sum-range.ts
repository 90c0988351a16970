/**
 * bench:sum-range — how far one member of a secure group can move its group's mean update, over real SecAgg+
 * (in memory: real ML-KEM, ML-DSA-65 signatures, Shamir, AES-CTR masks; no sockets), with and without the
 * coordinator's range check on group sums (coordinator/src/secagg/sum-range.ts).
 *
 *   pnpm exec tsx scripts/src/bench-sum-range.ts [--n 5] [--d 1000] [--clip 1] [--sigma 0.1] [--trials 10]
 *
 * Honest members send N(0, sigma) updates; member 1 attacks. All weights are 1 (equal sample counts). The
 * attacker quantizes −∞ (so its own quantized input is exactly 0) and adds its chosen words to its masked
 * input, which is what any input mod 2^32 amounts to. "shift" is the group mean minus the honest members'
 * mean with the attacker honest at 0, per coordinate; it is measured on the unmasked sum whether or not the
 * range check lets the group through.
 */
import { parseArgs } from 'node:util';
import { SecaggClient } from '@fedwarden/client';
import { SecaggGroup, checkSumRange, honestSumRange } from '@fedwarden/coordinator';
import {
  createRng,
  defaultThreshold,
  deriveSeed,
  dequantizeSum,
  generateIdentity,
  neighbourGraph,
  quantizationBits,
  seededBytes,
  type Rng,
} from '@fedwarden/shared';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '5' },
    d: { type: 'string', default: '1000' },
    clip: { type: 'string', default: '1' },
    sigma: { type: 'string', default: '0.1' },
    trials: { type: 'string', default: '10' },
  },
});
const n = Number(args.n);
const d = Number(args.d);
const clip = Number(args.clip);
const sigma = Number(args.sigma);
const trials = Number(args.trials);
const bits = quantizationBits(n);
const top = 2 ** bits - 1;
const ATTACKER = 1;
/** ML-DSA-65 identity key pairs by member index, made once: enrolment is not part of a round. */
const IDENTITIES = Array.from({ length: n }, () => generateIdentity());

/** What the attacker adds to its masked input, given the others' quantized sum where it knows it. */
type Attack = (others: Float64Array) => Float64Array;

function gaussian(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

/**
 * One SecAgg+ round of the group; returns the coordinator's unmasked sum of quantized inputs. Stochastic
 * rounding draws from `roundingSeed` (keys and masks from the CSPRNG), so two runs quantize alike.
 */
function secureSum(updates: Float32Array[], tamper: (masked: Uint32Array) => void, seed: number, roundingSeed: number): Uint32Array {
  const indices = updates.map((_, i) => i + 1);
  const group = new SecaggGroup({
    round: 1,
    group: 1,
    memberIds: indices.map((i) => `p${i}`),
    identityKeys: IDENTITIES.map((id) => id.publicKey),
    graph: neighbourGraph(n, { kind: 'complete' }, seed),
    threshold: defaultThreshold(n - 1),
    clip,
    bits,
    dim: d,
  });
  const clients = new Map(
    indices.map((i) => [i, new SecaggClient(1, group.setupFor(i), { identity: IDENTITIES[i - 1]!, rounding: seededBytes(deriveSeed(roundingSeed, i)) })]),
  );
  for (const [i, c] of clients) group.acceptKeys(i, c.keys({ numSamples: 10, meanLoss: 1, trainMs: 1 }));
  let relays: Map<number, unknown> = group.relayKeys();
  for (const [i, c] of clients) group.acceptEncaps(i, c.encaps(relays.get(i) as Parameters<SecaggClient['encaps']>[0]));
  relays = group.relayEncaps();
  for (const [i, c] of clients) group.acceptShares(i, c.shares(relays.get(i) as Parameters<SecaggClient['shares']>[0]));
  relays = group.relayShares(new Map(indices.map((i) => [i, 1])));
  for (const [i, c] of clients) {
    const msg = c.masked(relays.get(i) as Parameters<SecaggClient['masked']>[0], updates[i - 1]!);
    if (i === ATTACKER) tamper(msg.masked);
    group.acceptMasked(i, msg);
  }
  relays = group.survivorsRequests();
  for (const [i, c] of clients) group.acceptSurvivorsSigned(i, c.survivors(relays.get(i) as Parameters<SecaggClient['survivors']>[0]));
  relays = group.unmaskRequests();
  for (const [i, c] of clients) group.acceptUnmaskReply(i, c.unmask(relays.get(i) as Parameters<SecaggClient['unmask']>[0]));
  const result = group.finish();
  if (!result.ok) throw new Error(`group failed: ${result.reason}`);
  return result.sum;
}

const range = honestSumRange(Array.from({ length: n }, () => 1), bits);
/** The others' quantized inputs are (y + c)·T/(2c) with y ~ N(0, sigma): mean T/2 each, sd T·sigma/(2c). */
const othersMean = ((n - 1) * top) / 2;
const othersSd = (Math.sqrt(n - 1) * top * Math.min(sigma, clip)) / (2 * clip);
const constant = (v: number): Attack => () => new Float64Array(d).fill(v);

const ATTACKS: ReadonlyArray<readonly [name: string, attack: Attack, note: string]> = [
  ['honest (input 0)', constant(top / 2), 'the attacker sends a zero update'],
  ['honest at the clip (+c)', constant(top), 'largest input an honest quantizer sends'],
  ['in range, knows the others', (others) => others.map((o) => range.hi - o), 'sum placed exactly on the top of the range'],
  ['in range, blind (4 sd margin)', constant(range.hi - othersMean - 4 * othersSd), 'guesses the others from sigma'],
  ['in range, blind (no margin)', constant(range.hi - othersMean), 'overshoots about half the coordinates'],
  ['wrap: + 2^31', constant(2 ** 31), 'masked input moved half the ring'],
  ['wrap: sum to 2^32 − 1', (others) => others.map((o) => 2 ** 32 - 1 - o), 'largest value mod 2^32'],
];

interface Row {
  name: string;
  note: string;
  accepted: number;
  meanShift: number;
  maxShift: number;
}

const rows: Row[] = [];
let honestStep = 0;
for (const [name, attack, note] of ATTACKS) {
  let accepted = 0;
  let shiftSum = 0;
  let maxShift = 0;
  for (let t = 0; t < trials; t++) {
    const rng = createRng(deriveSeed(7, t));
    const updates = Array.from({ length: n }, (_, i) =>
      i + 1 === ATTACKER ? new Float32Array(d).fill(-1e30) : Float32Array.from({ length: d }, () => sigma * gaussian(rng)),
    );
    const honest = updates.filter((_, i) => i + 1 !== ATTACKER);
    const honestMean = new Float64Array(d);
    for (const u of honest) for (let k = 0; k < d; k++) honestMean[k] = honestMean[k]! + Math.max(-clip, Math.min(clip, u[k]!)) / n;
    if (name === ATTACKS[0]![0]) for (const u of honest) for (let k = 0; k < d; k++) honestStep += Math.abs(u[k]!) / (d * (n - 1) * trials);
    // The others' exact quantized sum, for the attacker that knows it: the honest run's sum, attacker at 0.
    const others = new Float64Array(secureSum(updates, () => undefined, deriveSeed(7, t, 1), deriveSeed(7, t, 3)));
    const add = attack(others);
    const sum = secureSum(updates, (masked) => {
      for (let k = 0; k < d; k++) masked[k] = (masked[k]! + Math.round(add[k]!)) % 2 ** 32;
    }, deriveSeed(7, t, 2), deriveSeed(7, t, 3));
    if (checkSumRange(sum, range).ok) accepted++;
    const mean = dequantizeSum(sum, n, clip, bits);
    for (let k = 0; k < d; k++) {
      const shift = mean[k]! / n - honestMean[k]!;
      shiftSum += shift / (d * trials);
      maxShift = Math.max(maxShift, Math.abs(shift));
    }
  }
  rows.push({ name, note, accepted, meanShift: shiftSum, maxShift });
}

const f = (x: number) => x.toFixed(3);
console.log(`group of ${n} (b = ${bits} bits), d = ${d}, clip c = ${clip}, honest updates N(0, ${sigma}) (mean |step| ${f(honestStep)}), ${trials} rounds each`);
console.log(`honest range of the sum: [${range.lo}, ${range.hi}]; honest mean of the others at ${othersMean}, sd ${Math.round(othersSd)}`);
console.log('');
console.log('| attacker (member 1 of ' + n + ') | groups accepted | mean shift of the group mean / coord | max | × mean honest step | |');
console.log('|---|---:|---:|---:|---:|---|');
for (const r of rows) {
  console.log(`| ${r.name} | ${r.accepted} / ${trials} | ${f(r.meanShift)} | ${f(r.maxShift)} | ${(r.meanShift / honestStep).toFixed(1)} | ${r.note} |`);
}
