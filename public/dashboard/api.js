// What every view shares: the API with the token typed once (kept in sessionStorage), HTML escaping and number
// formats, and live sockets that reopen with backoff and say in the header whether the page is live.
const TOKEN = "joinable-queues-token";

export class Unauthorized extends Error {}

export const token = () => sessionStorage.getItem(TOKEN);
export const setToken = (t) => (t === null ? sessionStorage.removeItem(TOKEN) : sessionStorage.setItem(TOKEN, t));
export const enc = encodeURIComponent;
export const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
export const fmt = (n) => (Number.isFinite(n) ? n.toLocaleString("en") : "–");
export const rate = (r) => (Number.isFinite(r) ? r.toFixed(1) : "–");

export async function api(path, init = {}) {
  const headers = {
    ...(init.body ? { "content-type": "application/json" } : {}),
    ...(token() ? { authorization: `Bearer ${token()}` } : {}),
  };
  const res = await fetch(path, { ...init, headers });
  const body = res.status === 204 ? null : await res.json();
  if (res.status === 401) throw new Unauthorized(body.detail);
  if (!res.ok) throw new Error(`${body.code}: ${body.detail}`);
  return body;
}

/** An item as short readable text: its JSON, cut to `max` characters (the full text is in the cell's title). */
export function itemCell(item, max = 80) {
  const json = JSON.stringify(item);
  const short = json.length > max ? `${json.slice(0, max - 1)}…` : json;
  return `<code title="${esc(json)}">${esc(short)}</code>`;
}

/** "12 s", "3 min", "2 h": how long, for ages and holds. */
export function duration(ms) {
  const a = Math.abs(Math.round(ms / 1000));
  return a < 90 ? `${a} s` : a < 5400 ? `${Math.round(a / 60)} min` : `${Math.round(a / 3600)} h`;
}

/** "in 12 s", "3 min ago": a moment relative to now, for lease ends and delays. */
export function relative(ms) {
  return ms >= -500 ? `in ${duration(ms)}` : `${duration(ms)} ago`;
}

// ---- live sockets: the header says "Live" while every open socket is up, "Reconnecting…" when one dropped

const connection = () => document.getElementById("connection");
const sockets = new Set();

export function showConnection() {
  const el = connection();
  const dropped = [...sockets].some((s) => !s.live && s.opened);
  el.dataset.state = dropped ? "reconnecting" : "live";
  el.textContent = dropped
    ? "Reconnecting… (the connection dropped; values may be stale)"
    : "Live: updates as they happen";
}

/**
 * A WebSocket at `path` (with a single-use ticket from `ticketPath` when a token is in use), reopened with
 * exponential backoff until `stop()`, or until the server closes it for good (4001 shut down, 4004 deleted).
 */
export class LiveSocket {
  constructor({ path, ticketPath, onOpen, onMessage, onError }) {
    Object.assign(this, { path, ticketPath, onOpen, onMessage, onError, attempt: 0, live: false, opened: false });
    this.stopped = false;
    sockets.add(this);
    void this.open(); // never rejects: open() retries its own failures
  }

  async open() {
    if (this.stopped) return;
    try {
      const url = token() ? (await api(this.ticketPath, { method: "POST" })).url : this.path;
      if (this.stopped) return;
      const ws = new WebSocket(new URL(url, location.href).href.replace(/^http/, "ws"));
      this.ws = ws;
      ws.onopen = () => {
        Object.assign(this, { attempt: 0, live: true, opened: true });
        this.onOpen?.(ws);
        showConnection();
      };
      ws.onmessage = (e) => this.onMessage(JSON.parse(e.data));
      ws.onclose = (e) => {
        this.live = false;
        if (e.code === 4001 || e.code === 4004) this.stopped = true;
        else this.retry();
        showConnection();
      };
    } catch (e) {
      if (e instanceof Unauthorized || /^forbidden/.test(e.message)) {
        this.stop();
        return this.onError?.(e);
      }
      this.retry();
    }
  }

  send(message) {
    if (this.live) this.ws.send(JSON.stringify(message));
  }

  retry() {
    if (this.stopped) return;
    this.live = false;
    showConnection();
    setTimeout(() => this.open(), Math.min(5000, 250 * 2 ** this.attempt++));
  }

  stop() {
    this.stopped = true;
    sockets.delete(this);
    this.ws?.close();
  }
}

/** Stops every socket (a view is left, or sign-in is needed). */
export function stopAll() {
  for (const s of sockets) s.stop();
}

// One ticker for the view on screen: rates decay, countdowns move and ETAs change even when nothing is sent.
let ticker;
export function every(ms, fn) {
  clearInterval(ticker);
  ticker = setInterval(fn, ms);
}

/** Runs `render` at most once per animation frame, however often it is asked for. */
export function scheduler(render) {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      render();
    });
  };
}
