/** TensorFlow.js entry points of the SDK: backend selection and the tfjs instance the SDK itself uses. */
export * as tf from '@tensorflow/tfjs';
export { initTensorFlow, type BackendPreference } from './backend.ts';
