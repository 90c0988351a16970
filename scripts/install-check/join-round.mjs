// A participant embedded in a fresh npm project, as a participant developer writes one: it imports only the
// installed @fedwarden/client, builds a small frozen base model, and joins the coordinator started by
// scripts/test-install.sh. The token comes from FEDWARDEN_TOKEN (readToken), never from the command line. Its
// identity seed lives in participant.identity (created 0600 on first use), so that the coordinator, which
// registered the identity key at the first run's hello, admits the second run too.
//
//   node join-round.mjs <url> <fingerprint> finish        take part until the federation finishes; exit 0 if a round was trained
//   node join-round.mjs <url> <fingerprint> going-away    take part until the coordinator shuts down (close 1001); exit 0 then
import { FederatedClient, createLoraModel, initTensorFlow, loadIdentityFile, readToken, tf } from '@fedwarden/client';

const [url, fingerprint, mode] = process.argv.slice(2);
if (!url || !fingerprint || (mode !== 'finish' && mode !== 'going-away')) {
  console.error('usage: node join-round.mjs <url> <fingerprint> finish|going-away');
  process.exit(2);
}

const backend = await initTensorFlow();
const inputDim = 8;
const numClasses = 3;
const base = tf.sequential({
  layers: [
    tf.layers.dense({ inputShape: [inputDim], units: 16, activation: 'relu', name: 'hidden' }),
    tf.layers.dense({ units: numClasses, name: 'logits' }),
  ],
});
const model = createLoraModel(base, { rank: 2, alpha: 4, seed: 7 });

// A learnable toy task: the class is the argmax of three fixed projections of the input.
const count = 96;
const inputs = new Float32Array(count * inputDim);
const labels = new Int32Array(count);
for (let i = 0; i < count; i++) {
  const scores = [0, 0, 0];
  for (let j = 0; j < inputDim; j++) {
    const x = Math.sin(i * 7.3 + j * 1.7);
    inputs[i * inputDim + j] = x;
    scores[j % numClasses] += x;
  }
  labels[i] = scores.indexOf(Math.max(...scores));
}
const data = { inputs, labels, count, inputDim, numClasses };

const client = new FederatedClient({
  url,
  fingerprint,
  token: readToken(undefined),
  identity: loadIdentityFile('participant.identity', { create: true }),
  model,
  data,
  reconnect: mode === 'going-away' ? false : { baseMs: 200, maxDelayMs: 2000, maxAttempts: 5 },
});
let uploads = 0;
client.on('uploaded', (round) => {
  uploads++;
  console.log(`participant: round ${round} uploaded (backend ${backend})`);
});
try {
  const summary = await client.run();
  console.log(`participant: federation finished after ${summary.roundsTrained} trained round(s)`);
  process.exit(mode === 'finish' && summary.roundsTrained >= 1 && uploads >= 1 ? 0 : 1);
} catch (err) {
  if (mode === 'going-away' && err?.code === 'GOING_AWAY' && /\(1001\)/.test(err.message)) {
    console.log(`participant: coordinator went away (${err.code}) after ${uploads} upload(s)`);
    process.exit(uploads >= 1 ? 0 : 1);
  }
  console.error(`participant failed [${err?.code ?? 'INTERNAL'}]: ${err?.message ?? err}`);
  process.exit(1);
}
