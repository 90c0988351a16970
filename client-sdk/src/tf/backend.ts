/**
 * TensorFlow.js backend selection for the SDK (DESIGN.md, "Client SDK").
 *
 * Order for 'auto': `@tensorflow/tfjs-node` when the user has installed it (native TensorFlow, multi-threaded),
 * else the WebAssembly backend (`@tensorflow/tfjs-backend-wasm`, a dependency of this package, single-threaded
 * SIMD in Node), else the pure-JS 'cpu' backend. tfjs-node is never a dependency: it is imported through a
 * module name held in a variable, so neither TypeScript nor a bundler tries to resolve it.
 *
 * Limits: tfjs-node only counts when it registers its backend with the same tfjs-core instance this package
 * uses (same 4.x version, deduplicated by the package manager); otherwise it is treated as absent.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { FedwardenError } from '@fedwarden/shared';

export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

/** Held in a variable on purpose: see the header. */
const TFJS_NODE_MODULE = '@tensorflow/tfjs-node';

/** Calls are serialised so that concurrent callers never race two `setBackend`s. */
let queue: Promise<unknown> = Promise.resolve();
/** Outcome of the (single) attempt to load each backend's module, by backend name. */
const loadAttempts = new Map<string, Promise<boolean>>();

/**
 * Select and initialise the TensorFlow.js backend; resolves to the name of the backend in use
 * ('tensorflow', 'wasm' or 'cpu'). Idempotent and safe to call many times and concurrently.
 * An explicit preference that cannot be satisfied throws BAD_CONFIG instead of falling back.
 */
export function initTensorFlow(preference: BackendPreference = 'auto'): Promise<string> {
  if (!BACKEND_PREFERENCES.includes(preference)) {
    return Promise.reject(new FedwardenError('BAD_CONFIG', `initTensorFlow: unknown backend preference ${String(preference)}`));
  }
  const run = queue.then(() => selectBackend(preference));
  queue = run.catch(() => undefined);
  return run;
}

async function selectBackend(preference: BackendPreference): Promise<string> {
  switch (preference) {
    case 'auto':
      if (await tryBackend('tensorflow')) return 'tensorflow';
      if (await tryBackend('wasm')) return 'wasm';
      if (await tryBackend('cpu')) return 'cpu';
      throw new FedwardenError('INTERNAL', 'initTensorFlow: no TensorFlow.js backend could be initialised');
    case 'tensorflow':
    case 'wasm':
    case 'cpu':
      if (await tryBackend(preference)) return preference;
      throw new FedwardenError(
        'BAD_CONFIG',
        preference === 'tensorflow'
          ? `initTensorFlow: backend 'tensorflow' needs ${TFJS_NODE_MODULE} (same version as @tensorflow/tfjs) installed`
          : `initTensorFlow: backend '${preference}' failed to initialise`,
      );
    default: {
      const unreachable: never = preference;
      throw new FedwardenError('BAD_CONFIG', `initTensorFlow: unknown backend preference ${String(unreachable)}`);
    }
  }
}

async function tryBackend(name: 'tensorflow' | 'wasm' | 'cpu'): Promise<boolean> {
  if (tf.getBackend() === name) return true;
  if (name === 'tensorflow' && !(await loadOnce('tensorflow', () => importOptional(TFJS_NODE_MODULE)))) return false;
  if (name === 'wasm' && !(await loadOnce('wasm', () => import('@tensorflow/tfjs-backend-wasm')))) return false;
  if (tf.findBackendFactory(name) == null) return false;
  try {
    if (!(await tf.setBackend(name))) return false;
    await tf.ready();
    return tf.getBackend() === name;
  } catch {
    return false;
  }
}

function loadOnce(backend: string, load: () => Promise<unknown>): Promise<boolean> {
  let attempt = loadAttempts.get(backend);
  if (attempt === undefined) {
    attempt = load().then(
      (loaded) => loaded !== false,
      () => false,
    );
    loadAttempts.set(backend, attempt);
  }
  return attempt;
}

/**
 * Import a module that may be absent: first as seen from this package, then as seen from the application's
 * working directory (with a strict package manager an application's own dependency is not visible here).
 */
async function importOptional(moduleName: string): Promise<boolean> {
  try {
    await import(moduleName);
    return true;
  } catch {
    // not resolvable from this package; try the application's
  }
  try {
    const resolved = createRequire(join(process.cwd(), 'noop.js')).resolve(moduleName);
    await import(pathToFileURL(resolved).href);
    return true;
  } catch {
    return false;
  }
}
