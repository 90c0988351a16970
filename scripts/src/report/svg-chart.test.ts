import { describe, expect, it } from 'vitest';
import { renderSmallMultiples } from './svg-chart.ts';

describe('renderSmallMultiples', () => {
  it('draws one polyline per series, scaled into its panel, with escaped labels', () => {
    const svg = renderSmallMultiples('acc <test>', [
      { title: 'sign-flip', series: [{ name: 'fedavg', values: [0, 1] }, { name: 'fedwarden', values: [0.5, 0.5] }] },
      { title: 'none', series: [{ name: 'fedavg', values: [1] }] },
    ]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('acc &lt;test&gt;');
    expect(svg.match(/<polyline/g)).toHaveLength(3);
    // fedavg in the first panel goes from the bottom (y = 24 + 140 + header) to the top of the plot area.
    const first = /<polyline[^>]*points="([^"]+)"/.exec(svg)![1]!.split(' ').map((p) => p.split(',').map(Number));
    expect(first[0]![1]).toBeGreaterThan(first[1]![1]!);
  });

  it('places points by their x values when the series carry them, and labels the axis with the largest', () => {
    const svg = renderSmallMultiples('t', [
      { title: 'N = 16', xUnit: 's', series: [{ name: 'fast', values: [0.5, 0.9], x: [1, 2] }, { name: 'slow', values: [0.5, 0.9], x: [4, 8] }] },
    ]);
    const lines = [...svg.matchAll(/<polyline[^>]*points="([^"]+)"/g)].map((m) => m[1]!.split(' ').map((p) => Number(p.split(',')[0])));
    // The slow series ends at the right edge; the fast one a quarter of the way along.
    const [fast, slow] = lines as [number[], number[]];
    const left = 36;
    expect((fast[1]! - left) / (slow[1]! - left)).toBeCloseTo(0.25, 5);
    expect(svg).toContain('>8 s<');
  });
});
