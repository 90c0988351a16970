export * from './errors.ts';
export * from './adapter.ts';
export * from './rng.ts';
export * from './limits.ts';
export * from './protocol/messages.ts';
