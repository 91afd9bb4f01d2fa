/**
 * Figures as people read them, for `baton status` and the admin page, whose
 * script bundles them (src/admin/page/view.ts).
 */

/** `850 ms`, `12s`, `3m 12s`, `2h 5m`, `3d 4h`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** Bytes in MiB with one decimal; `none` where the figure is unknown. */
export function mib(bytes: number | null, none = '-'): string {
  return bytes === null ? none : `${(bytes / 1048576).toFixed(1)} MiB`;
}
