/**
 * Secure-aggregation primitives (SecAgg+ with ML-KEM): Shamir sharing over GF(2^8), the AES-CTR mask PRG,
 * quantization, neighbour graphs and the pairwise key derivations. The protocol stages live in coordinator/
 * and client-sdk/; everything here is pure functions.
 */
export { SHAMIR_MAX_SHARES, shamirCombine, shamirSplit, type ShamirShare } from './shamir.ts';
export { MASK_SEED_BYTES, applyMask, applyMasks, expandMask, type SignedSeed } from './prg.ts';
export { addModVectors } from './mod-add.ts';
export { measureMaskThroughput, type MaskThroughput } from './mask-throughput.ts';
export { dequantizeSum, quantizationBits, quantize, type Quantized } from './quantize.ts';
export { COMPLETE_GRAPH_MAX_MEMBERS, binomialTail, defaultDegree, defaultThreshold, neighbourGraph, type GraphSpec } from './graph.ts';
export {
  SEALED_SHARES_BYTES,
  SECRET_BYTES,
  encapsRandomness,
  memberKemSeed,
  openShares,
  pairwiseSecrets,
  sealShares,
  shareKey,
  type OpenedShares,
  type PairwiseSecrets,
} from './pairwise.ts';
export { COMMITMENT_BYTES, COMMITMENT_LABELS, commitPairSeed, commitSecret, commitShare, opensCommitment, type SecretKind } from './commitment.ts';
export { isValidKemPublicKey } from './kem-key-check.ts';
export {
  ITEM_DIGEST_BYTES,
  MAX_ATTESTATION_BYTES,
  MIN_ATTESTATION_BYTES,
  STATEMENT_LABELS,
  attestItems,
  attestationBytes,
  checkAttested,
  checkAttestedAll,
  encapsItem,
  keysStatement,
  sharesItem,
  survivorsStatement,
  type ListStage,
} from './statements.ts';
