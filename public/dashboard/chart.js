// A queue's counters over time, drawn by uPlot (vendored, see vendor/): a time axis, a count axis on the left and
// a rate axis on the right, a legend, and the last 5 minutes or the last hour of what this page has seen.
import uPlot from "./vendor/uPlot.esm.js";

export const RANGES = { "5 min": 5 * 60_000, "1 h": 60 * 60_000 };
const KEEP_MS = RANGES["1 h"];

/** name → samples, one a second, kept while the page is open (across views), at most an hour of them. */
const histories = new Map();

/** Records the latest stats once a second (the last values hold between changes, as the queue's do). */
export function sample(name, stats, now = Date.now()) {
  const h = histories.get(name) ?? [];
  histories.set(name, h);
  const s = { t: now, qsize: stats.qsize, in_flight: stats.in_flight, completed: stats.completed };
  if (h.length > 0 && now - h.at(-1).t < 1000) h[h.length - 1] = { ...s, t: h.at(-1).t };
  else h.push(s);
  while (h.length > 0 && h[0].t < now - KEEP_MS) h.shift();
}

function series(name, rangeMs, now) {
  const pts = (histories.get(name) ?? []).filter((s) => s.t >= now - rangeMs);
  const xs = pts.map((s) => s.t / 1000);
  const done = pts.map((s, i) =>
    i ? Math.max(0, s.completed - pts[i - 1].completed) / ((s.t - pts[i - 1].t) / 1000) : 0,
  );
  return [xs, pts.map((s) => s.qsize), pts.map((s) => s.in_flight), done];
}

const two = (n) => String(n).padStart(2, "0");

/**
 * The time axis's labels, one line each and in local time: "14:05" where a minute starts (and wherever ticks are a
 * minute or more apart), ":30" between. uPlot's own put the date under the first tick, a label wider than the space
 * between ticks, so it ran into the next minute's.
 */
export const clockLabels = (_u, ticks, _axis, _space, incr) =>
  ticks.map((t) => {
    const d = new Date(t * 1000);
    const minute = `${two(d.getHours())}:${two(d.getMinutes())}`;
    return incr >= 60 || d.getSeconds() === 0 ? minute : `:${two(d.getSeconds())}`;
  });

// Counts and rates start at zero, so a flat line reads as what it is, not as noise blown up to fill the chart.
const fromZero = (_u, _min, max) => [0, Math.max(1, max)];

export class Chart {
  constructor(el, name) {
    Object.assign(this, { el, name, rangeMs: RANGES["5 min"] });
    const style = getComputedStyle(el);
    const ink = style.color;
    const grid = style.getPropertyValue("--line").trim() || "rgba(128,128,128,0.25)";
    const axis = (extra) => ({ stroke: ink, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, ...extra });
    const count = (_, ticks) => ticks.map((v) => (Number.isInteger(v) ? v.toLocaleString("en") : ""));
    this.plot = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height: 220,
        scales: { x: { time: true }, y: { range: fromZero }, rate: { range: fromZero } },
        series: [
          { label: "Time", value: "{YYYY}-{MM}-{DD} {HH}:{mm}:{ss}" },
          { label: "Backlog", stroke: "#2563eb", width: 2, value: (_, v) => (v == null ? "–" : v) },
          { label: "In flight", stroke: "#d97706", width: 2, dash: [6, 3], value: (_, v) => (v == null ? "–" : v) },
          {
            label: "Done/s",
            stroke: "#16a34a",
            width: 2,
            dash: [2, 3],
            scale: "rate",
            value: (_, v) => (v == null ? "–" : v.toFixed(1)),
          },
        ],
        axes: [
          axis({ values: clockLabels }),
          axis({ label: "items", values: count, size: 60 }),
          axis({ label: "done per second", scale: "rate", side: 1, grid: { show: false }, size: 60 }),
        ],
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
      },
      series(name, this.rangeMs, Date.now()),
      el,
    );
    this.resize = new ResizeObserver(() => this.plot.setSize({ width: Math.max(200, el.clientWidth), height: 220 }));
    this.resize.observe(el);
  }

  /** Redraws the chosen range, ending now (quiet stretches included: the time axis is real time). */
  update() {
    const now = Date.now();
    this.plot.setData(series(this.name, this.rangeMs, now), false);
    this.plot.setScale("x", { min: (now - this.rangeMs) / 1000, max: now / 1000 });
  }

  /** When this page's history of the queue begins (it is kept only while the page is open). */
  since() {
    return histories.get(this.name)?.[0]?.t ?? Date.now();
  }

  setRange(rangeMs) {
    this.rangeMs = rangeMs;
    this.update();
  }

  destroy() {
    this.resize.disconnect();
    this.plot.destroy();
  }
}
