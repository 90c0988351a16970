/**
 * Robust location and scale for the detectors: median, MAD, and the robust z-score
 *   z = (x − median) / (1.4826 · MAD)
 * (the "modified z-score" of Iglewicz and Hoaglin, "How to Detect and Handle Outliers", ASQC 1993, where
 * |z| > 3.5 marks an outlier; 1.4826 = 1/Φ⁻¹(3/4) makes the scale the standard deviation for normal data).
 * A median-based scale is not dragged by the outliers it is meant to expose, as a standard deviation is.
 */
import { median as medianOf } from '@fedwarden/shared';

/** Median of the finite values (NaN when there are none). Does not modify its input. */
export function median(values: readonly number[]): number {
  const finite = values.filter(Number.isFinite);
  return finite.length === 0 ? Number.NaN : medianOf(finite);
}

/** Median absolute deviation from the median (finite values only). */
export function mad(values: readonly number[], center = median(values)): number {
  return median(values.filter(Number.isFinite).map((x) => Math.abs(x - center)));
}

export interface RobustScale {
  readonly center: number;
  /** Comparable to a standard deviation; 0 when the values are all equal. */
  readonly scale: number;
}

/** 1.4826 = 1/Φ⁻¹(0.75): MAD → standard deviation for normal data. */
export const MAD_TO_SD = 1.4826;
/** √(π/2): mean absolute deviation → standard deviation for normal data. */
const MEAN_AD_TO_SD = 1.2533;

/**
 * Median and a robust scale of the finite values: 1.4826·MAD, or, when more than half the values are equal
 * (MAD = 0, common for sample counts or in a quiet round), 1.2533 × the mean absolute deviation from the
 * median, so that the few values that do differ get a finite z-score; 0 only when all values are equal.
 */
export function robustScale(values: readonly number[]): RobustScale {
  const finite = values.filter(Number.isFinite);
  const center = median(finite);
  if (finite.length === 0) return { center: Number.NaN, scale: 0 };
  const m = mad(finite, center);
  if (m > 0) return { center, scale: MAD_TO_SD * m };
  const meanAd = finite.reduce((s, x) => s + Math.abs(x - center), 0) / finite.length;
  return { center, scale: MEAN_AD_TO_SD * meanAd };
}

/** (x − center)/scale; 0 for a constant feature (scale 0) or a non-finite x. */
export function robustZ(x: number, { center, scale }: RobustScale): number {
  if (!Number.isFinite(x) || !(scale > 0)) return 0;
  return (x - center) / scale;
}
