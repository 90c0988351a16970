import { describe, expect, it } from 'vitest';
import { DegradationDetector, detectDegradation, type RoundMetrics } from './degradation-detector.ts';

const HISTORY: RoundMetrics[] = [
  { round: 1, accuracy: 0.8, meanLoss: 1.0, dropoutRate: 0 },
  { round: 2, accuracy: 0.85, meanLoss: 1.2, dropoutRate: 0.1 },
  { round: 3, accuracy: 0.84, meanLoss: 0.8, dropoutRate: 0 },
];
const at4 = (m: Partial<RoundMetrics>): RoundMetrics => ({ round: 4, dropoutRate: 0, ...m });
const summary = (alerts: ReturnType<typeof detectDegradation>) => alerts.map((a) => [a.feature, a.severity, Number(a.score.toFixed(4))]);

describe('detectDegradation', () => {
  it('flags an accuracy drop of more than Δ below the best of the window; 2Δ is critical', () => {
    // Best of the window: 0.85.
    expect(summary(detectDegradation(HISTORY, at4({ accuracy: 0.81 })))).toEqual([]); // drop 0.04
    expect(summary(detectDegradation(HISTORY, at4({ accuracy: 0.8 })))).toEqual([]); // drop exactly 0.05 is not more than Δ
    expect(summary(detectDegradation(HISTORY, at4({ accuracy: 0.78 })))).toEqual([['accuracy', 'warning', 0.07]]);
    expect(summary(detectDegradation(HISTORY, at4({ accuracy: 0.74 })))).toEqual([['accuracy', 'critical', 0.11]]);
    const [alert] = detectDegradation(HISTORY, at4({ accuracy: 0.78 }));
    expect(alert).toMatchObject({ detector: 'degradation', round: 4 });
    expect(alert?.message).toBe('accuracy 78.0% is 7.0% below the best of the last 10 rounds (85.0%)');
  });

  it('only looks back windowRounds rounds', () => {
    // With a window of 1, only round 3 (0.84) counts: 0.78 is 0.06 below.
    expect(summary(detectDegradation(HISTORY, at4({ accuracy: 0.78 }), { windowRounds: 1 }))).toEqual([['accuracy', 'warning', 0.06]]);
    expect(summary(detectDegradation(HISTORY, at4({ accuracy: 0.8 }), { windowRounds: 1 }))).toEqual([]);
  });

  it('flags a loss more than r above the median of the window; 2r is critical; non-finite at once', () => {
    // Median of 1.0, 1.2, 0.8 = 1.0.
    expect(summary(detectDegradation(HISTORY, at4({ meanLoss: 1.4 })))).toEqual([]);
    expect(summary(detectDegradation(HISTORY, at4({ meanLoss: 1.6 })))).toEqual([['meanLoss', 'warning', 0.6]]);
    expect(summary(detectDegradation(HISTORY, at4({ meanLoss: 2.1 })))).toEqual([['meanLoss', 'critical', 1.1]]);
    expect(summary(detectDegradation(HISTORY, at4({ meanLoss: Number.NaN })))).toEqual([['meanLoss', 'critical', Infinity]]);
  });

  it('flags a dropout rate above the threshold, critical from criticalDropoutRate', () => {
    expect(summary(detectDegradation([], at4({ dropoutRate: 0.5 })))).toEqual([]);
    expect(summary(detectDegradation([], at4({ dropoutRate: 0.6 })))).toEqual([['dropoutRate', 'warning', 0.6]]);
    expect(summary(detectDegradation([], at4({ dropoutRate: 0.8 })))).toEqual([['dropoutRate', 'critical', 0.8]]);
    expect(() => detectDegradation([], at4({ dropoutRate: 1.5 }))).toThrow(/dropoutRate/);
  });

  it('judges nothing but dropout without history, and reports every breach of a round', () => {
    expect(detectDegradation([], at4({ accuracy: 0.1, meanLoss: 100 }))).toEqual([]);
    expect(summary(detectDegradation(HISTORY, { round: 4, accuracy: 0.5, meanLoss: 3, dropoutRate: 0.9 }))).toEqual([
      ['accuracy', 'critical', 0.35],
      ['meanLoss', 'critical', 2],
      ['dropoutRate', 'critical', 0.9],
    ]);
  });

  it('validates its options', () => {
    expect(() => detectDegradation([], at4({}), { accuracyDrop: 0 })).toThrow(/accuracyDrop/);
    expect(() => detectDegradation([], at4({}), { dropoutRate: 0.9, criticalDropoutRate: 0.8 })).toThrow(/criticalDropoutRate/);
  });
});

describe('DegradationDetector', () => {
  it('keeps the recent rounds and compares each new one with them', () => {
    const detector = new DegradationDetector({ windowRounds: 2 });
    expect(detector.observe({ round: 1, accuracy: 0.9, dropoutRate: 0 })).toEqual([]);
    expect(detector.observe({ round: 2, accuracy: 0.7, dropoutRate: 0 }).map((a) => a.severity)).toEqual(['critical']);
    expect(detector.observe({ round: 3, accuracy: 0.7, dropoutRate: 0 }).map((a) => a.severity)).toEqual(['critical']);
    // Round 1 (0.9) has left the window of 2: the best is now 0.7.
    expect(detector.observe({ round: 4, accuracy: 0.7, dropoutRate: 0 })).toEqual([]);
  });
});
