/** Right-aligned plain-text tables for the benchmarks' printed reports. Pure: returns lines. */

/** The header and rows as lines, every column right-aligned to its widest cell, columns two spaces apart. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: readonly string[]) => cells.map((c, i) => c.padStart(widths[i] as number)).join('  ');
  return [fmt(header), ...rows.map(fmt)];
}
