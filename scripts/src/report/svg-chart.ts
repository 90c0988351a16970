/**
 * Small-multiple line charts as standalone SVG: one panel per group (an attack), one line per series
 * (a defence), y from 0 to 1. Plain SVG so the image opens in any browser and diffs as text; no fonts,
 * canvas or native modules needed.
 */

export interface Series {
  readonly name: string;
  readonly values: readonly number[];
  /** Each value's x (increasing, ≥ 0), e.g. seconds; absent: the values are rounds 1, 2, … */
  readonly x?: readonly number[];
}

export interface Panel {
  readonly title: string;
  readonly series: readonly Series[];
  /** The x axis's unit when the series carry x values, e.g. "s". */
  readonly xUnit?: string;
}

const PALETTE = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d', '#666666', '#1f78b4', '#b2df8a'];
const PANEL_W = 300;
const PANEL_H = 190;
const PAD = { left: 36, right: 10, top: 24, bottom: 26 };

export function renderSmallMultiples(title: string, panels: readonly Panel[], columns = 3): string {
  const names = [...new Set(panels.flatMap((p) => p.series.map((s) => s.name)))];
  const color = (name: string) => PALETTE[names.indexOf(name) % PALETTE.length] as string;
  const rows = Math.ceil(panels.length / columns);
  const legendH = 18 * Math.ceil(names.length / 4) + 10;
  const width = columns * PANEL_W;
  const height = 34 + legendH + rows * PANEL_H;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15">${escape(title)}</text>`,
  ];
  names.forEach((name, i) => {
    const x = 20 + (i % 4) * (width / 4);
    const y = 40 + 18 * Math.floor(i / 4);
    parts.push(`<line x1="${x}" y1="${y - 4}" x2="${x + 18}" y2="${y - 4}" stroke="${color(name)}" stroke-width="2.5"/>`);
    parts.push(`<text x="${x + 24}" y="${y}">${escape(name)}</text>`);
  });
  panels.forEach((panel, i) => {
    const ox = (i % columns) * PANEL_W;
    const oy = 34 + legendH + Math.floor(i / columns) * PANEL_H;
    parts.push(renderPanel(panel, ox, oy, color));
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

function renderPanel(panel: Panel, ox: number, oy: number, color: (name: string) => string): string {
  const w = PANEL_W - PAD.left - PAD.right;
  const h = PANEL_H - PAD.top - PAD.bottom;
  const x0 = ox + PAD.left;
  const y0 = oy + PAD.top;
  const rounds = Math.max(1, ...panel.series.map((s) => s.values.length));
  const timed = panel.series.some((s) => s.x !== undefined);
  const xMax = Math.max(...panel.series.map((s) => s.x?.at(-1) ?? 0), Number.MIN_VALUE);
  // Rounds spread 1..rounds over the width; x values spread 0..xMax.
  const px = (i: number, x?: number) => x0 + (timed ? ((x ?? 0) / xMax) * w : rounds <= 1 ? 0 : (i / (rounds - 1)) * w);
  const py = (v: number) => y0 + h - Math.max(0, Math.min(1, v)) * h;
  const out: string[] = [
    `<g>`,
    `<text x="${x0 + w / 2}" y="${oy + 15}" text-anchor="middle" font-size="12">${escape(panel.title)}</text>`,
    `<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#999"/>`,
  ];
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    out.push(`<line x1="${x0}" y1="${py(tick)}" x2="${x0 + w}" y2="${py(tick)}" stroke="#eee"/>`);
    out.push(`<text x="${x0 - 4}" y="${py(tick) + 4}" text-anchor="end">${tick.toFixed(2)}</text>`);
  }
  out.push(`<text x="${x0}" y="${y0 + h + 16}">${timed ? 0 : 1}</text>`);
  const xEnd = timed ? `${Number(xMax.toPrecision(3))} ${panel.xUnit ?? ''}`.trim() : `round ${rounds}`;
  out.push(`<text x="${x0 + w}" y="${y0 + h + 16}" text-anchor="end">${escape(xEnd)}</text>`);
  for (const s of panel.series) {
    if (s.values.length === 0) continue;
    const points = s.values.map((v, i) => `${px(i, s.x?.[i]).toFixed(1)},${py(v).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${color(s.name)}" stroke-width="1.6" points="${points}"/>`);
  }
  out.push('</g>');
  return out.join('\n');
}

function escape(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] as string);
}
