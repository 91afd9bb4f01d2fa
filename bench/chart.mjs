// The SVG chart, drawn from the measured timelines with no external service:
// per second, the load generator's responses (req/s, blue line) and the
// probe's failed and refused requests (red and orange bars), with each restart
// window (command to old generation gone) shaded; baton and PM2 side by side,
// one row of panels per load mode.

const W = 500;
const H = 250;
const PAD = { l: 62, r: 52, t: 40, b: 34 };
const COLOURS = {
  rps: '#1f5fbf',
  failed: '#d62728',
  refused: '#ff9f1c',
  window: '#f2c14e',
  grid: '#e4e4e4',
  text: '#222',
};

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/** The smallest m × 10^k (m in 1, 2, 3, 4, 5, 6, 8) at or above v: a scale whose quarters read well. */
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** For counts: a multiple of 4, so that each quarter is a whole number. */
function niceCount(v) {
  for (const m of [4, 8, 12, 16, 20, 40, 60, 80, 100, 200, 400, 800]) if (m >= v) return m;
  return niceMax(v);
}

const fmt = (n) => (n >= 1000 ? `${Number((n / 1000).toFixed(1))}k` : String(Number(n.toFixed(1))));

/** Whole seconds of load only: the first and last are partial (the load starts and stops mid-second). */
function bins(row) {
  return row.timeline.perSecond.filter((s) => s.full);
}

function panel(row, x0, y0, scale) {
  const out = [];
  const pw = W - PAD.l - PAD.r;
  const ph = H - PAD.t - PAD.b;
  const left = x0 + PAD.l;
  const top = y0 + PAD.t;
  const tMax = row.timeline.perSecond.length;
  const x = (t) => left + (t / tMax) * pw;
  const yL = (v) => top + ph - (v / scale.rps) * ph;
  const yR = (v) => top + ph - (v / scale.failed) * ph;
  const mode = row.mode === 'keepalive' ? 'keep-alive' : 'new connection per request';
  out.push(
    `<text x="${x0 + W / 2}" y="${y0 + 16}" text-anchor="middle" font-weight="bold">${esc(`${row.name}: ${mode}`)}</text>`,
  );
  out.push(
    `<text x="${x0 + W / 2}" y="${y0 + 31}" text-anchor="middle" font-size="11">${esc(`${row.restarts} restarts · ${row.failed} failed, ${row.refused} refused (load generator) · ${Math.round(row.rps)} req/s`)}</text>`,
  );
  for (let i = 0; i <= 4; i++) {
    const v = (scale.rps * i) / 4;
    const y = yL(v);
    out.push(`<line x1="${left}" x2="${left + pw}" y1="${y}" y2="${y}" stroke="${COLOURS.grid}"/>`);
    out.push(
      `<text x="${left - 6}" y="${y + 4}" text-anchor="end" font-size="10" fill="${COLOURS.rps}">${fmt(v)}</text>`,
    );
    out.push(
      `<text x="${left + pw + 6}" y="${y + 4}" font-size="10" fill="${COLOURS.failed}">${fmt((scale.failed * i) / 4)}</text>`,
    );
  }
  for (const w of row.timeline.windows) {
    const a = x(w.start);
    const b = Math.max(x(w.end), a + 3);
    out.push(
      `<rect x="${a}" y="${top}" width="${b - a}" height="${ph}" fill="${COLOURS.window}" fill-opacity="0.45"/>`,
    );
  }
  const barW = Math.max(2, pw / tMax / 3);
  for (const s of bins(row)) {
    const fx = x(s.t + 0.5);
    if (s.probeFailed)
      out.push(
        `<rect x="${fx - barW}" y="${yR(s.probeFailed)}" width="${barW}" height="${top + ph - yR(s.probeFailed)}" fill="${COLOURS.failed}"/>`,
      );
    if (s.probeRefused)
      out.push(
        `<rect x="${fx}" y="${yR(s.probeRefused)}" width="${barW}" height="${top + ph - yR(s.probeRefused)}" fill="${COLOURS.refused}"/>`,
      );
  }
  const pts = bins(row)
    .map((s) => `${x(s.t + 0.5).toFixed(1)},${yL(s.responses).toFixed(1)}`)
    .join(' ');
  out.push(`<polyline points="${pts}" fill="none" stroke="${COLOURS.rps}" stroke-width="2"/>`);
  out.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  for (let t = 0; t <= tMax; t += tMax > 12 ? 5 : 1) {
    out.push(`<text x="${x(t)}" y="${top + ph + 14}" text-anchor="middle" font-size="10">${t}</text>`);
  }
  out.push(`<text x="${left + pw / 2}" y="${top + ph + 28}" text-anchor="middle" font-size="10">seconds</text>`);
  out.push(
    `<text transform="translate(${x0 + 14},${top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="10" fill="${COLOURS.rps}">responses per second</text>`,
  );
  out.push(
    `<text transform="translate(${x0 + W - 10},${top + ph / 2}) rotate(90)" text-anchor="middle" font-size="10" fill="${COLOURS.failed}">probe failures per second</text>`,
  );
  return out.join('\n');
}

/** The chart for `result` (bench/run.mjs's result object), as an SVG string. */
export function renderChart(result) {
  const find = (group, mode) =>
    result.rows.find((r) => r.group === group && r.mode === mode && r.scenario === 'restart' && r.handlerMs === 0) ??
    result.rows.find((r) => r.group === group && r.mode === mode && r.scenario === 'restart');
  const panels = [];
  for (const mode of ['keepalive', 'close']) {
    const pair = [find('baton-run-2', mode), find('pm2-cluster', mode)];
    if (pair.some(Boolean)) panels.push(pair);
  }
  const width = W * 2;
  const legendH = 50;
  const height = legendH + Math.max(1, panels.length) * H + 10;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12" fill="${COLOURS.text}">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(`Restart every 2 s under load: baton vs PM2 (${result.machine.loadGenerator}, ${result.settings.connections} connections, ${result.date.slice(0, 10)})`)}</text>`,
    `<g font-size="11" transform="translate(${width / 2 - 330},36)">`,
    `<line x1="0" x2="22" y1="0" y2="0" stroke="${COLOURS.rps}" stroke-width="2"/><text x="28" y="4">responses/s (load generator)</text>`,
    `<rect x="200" y="-6" width="10" height="10" fill="${COLOURS.failed}"/><text x="216" y="4">failed/s (probe)</text>`,
    `<rect x="320" y="-6" width="10" height="10" fill="${COLOURS.refused}"/><text x="336" y="4">refused/s (probe)</text>`,
    `<rect x="450" y="-6" width="18" height="10" fill="${COLOURS.window}" fill-opacity="0.45"/><text x="474" y="4">restart: command to old generation gone</text>`,
    '</g>',
  ];
  if (!panels.length)
    out.push(
      `<text x="${width / 2}" y="${legendH + 40}" text-anchor="middle">no baton run -w 2 or PM2 restart rows in this run</text>`,
    );
  panels.forEach((pair, i) => {
    const present = pair.filter(Boolean);
    const scale = {
      rps: niceMax(Math.max(...present.flatMap((r) => bins(r).map((s) => s.responses)), 1)),
      failed: niceCount(
        Math.max(...present.flatMap((r) => bins(r).map((s) => Math.max(s.probeFailed, s.probeRefused))), 4),
      ),
    };
    pair.forEach((row, j) => {
      const x0 = j * W;
      const y0 = legendH + i * H;
      if (row) out.push(panel(row, x0, y0, scale));
      else out.push(`<text x="${x0 + W / 2}" y="${y0 + H / 2}" text-anchor="middle">(not run)</text>`);
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
