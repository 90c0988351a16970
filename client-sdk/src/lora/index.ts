/** LoRA adapters on a frozen dense base model (Hu et al. 2021, arXiv:2106.09685). */
export { LoraModel, createLoraModel, loraManifest, type LoraOptions } from './lora-model.ts';
export { readFrozenBase, disposeFrozenBase, type FrozenBase, type FrozenDense, type DenseActivation } from './frozen-base.ts';
export { SharedFrozenBase, type FrozenBaseLease } from './shared-frozen-base.ts';
export { activate, loraLogits, meanSoftmaxCrossEntropy, type LoraPair } from './lora-forward.ts';
