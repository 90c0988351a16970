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
});
