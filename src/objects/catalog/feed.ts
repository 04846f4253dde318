// The catalog's live feed: one hibernatable WebSocket shows a page of queues (by name prefix) and pushes queues
// created and deleted and each shown queue's headline counters, however many queues the deployment has.
//
// As in subscriptions.ts, a hibernated object is rebuilt from scratch when a socket speaks or a queue reports, and
// only the attachment comes back with each socket: so the page a socket asked for lives there (a few bytes), and
// what it shows now is recomputed from the catalog's table when the object wakes. Headlines live in memory only; a
// sharded queue is one queue here, its objects' reports added up (headline-board.ts).
import { LIMITS } from "../../contract/limits.ts";
import { type ProblemCode, problem } from "../../contract/problems.ts";
import type { QueueConfig } from "../../contract/queue-config.ts";
import { TICKET_HEADER } from "../../contract/rights.ts";
import { describeIssues, FeedMessage } from "../../contract/schemas.ts";
import { queueNameOf } from "../shards/names.ts";
import { closeBack, error, send } from "../sockets/frames.ts";
import { HeadlineBoard, type Known, type Listed, type Shown } from "./headline-board.ts";
import type { Headline } from "./headlines.ts";

/** The page a socket asked for: its attachment. */
type Page = Extract<FeedMessage, { op: "page" }>;

interface Live {
  page: Page;
  /** The names it shows now, and whether the page is full (then only names before `last` can enter it). */
  names: Set<string>;
  full: boolean;
  last: string;
  /** What the next flush sends it: the whole page again, or the headlines of these names. */
  stalePage: boolean;
  staleHeads: Set<string>;
}

type Entry = QueueConfig & { name: string; created_at: string; headline: Known | null };

/** Changes are gathered this long, then sent as one frame per socket: a burst of creates costs one page each. */
const FLUSH_MS = 100;

/** A listed queue's shard count, from its configuration (absent there: not sharded). */
const SHARDS = "coalesce(json_extract(config, '$.shards'), 1) AS shards";

export class CatalogFeed {
  private readonly board: HeadlineBoard;
  private lives: Map<WebSocket, Live> | undefined;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ctx: DurableObjectState,
    env: Env,
  ) {
    // Spent tickets are kept until they expire, so each opens exactly one socket, across restarts too.
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS feed_tickets (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID",
    );
    this.board = new HeadlineBoard(env, (name) => this.shardsOf(name));
    // Keep-alive pings are answered by the runtime without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /** A WebSocket upgrade (the Worker has authenticated it: observe over every queue). */
  accept(request: Request): Response {
    const path = new URL(request.url).pathname;
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return problem("invalid_request", "this endpoint needs a WebSocket upgrade ('Upgrade: websocket')", path);
    }
    const ticket = request.headers.get(TICKET_HEADER)?.split(" ");
    if (ticket && !this.spend(ticket[0]!, Number(ticket[1]))) {
      return problem("unauthorized", "this ticket was already used: get a new one for each socket", path);
    }
    if (this.ctx.getWebSockets().length >= LIMITS.maxFeedSubscribers) {
      const detail = `the catalog feed already has ${LIMITS.maxFeedSubscribers} sockets (the cap); retry later`;
      return problem("limit_exceeded", detail, path, { "retry-after": "5" });
    }
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  message(ws: WebSocket, data: string | ArrayBuffer): void {
    const parsed = parse(data);
    if ("code" in parsed) return error(ws, parsed.code, parsed.detail);
    ws.serializeAttachment(parsed.page);
    const live = this.track(ws, parsed.page);
    this.sendPage(ws, live);
  }

  closed(ws: WebSocket, code: number): void {
    this.all().delete(ws);
    closeBack(ws, code);
  }

  /** How many objects hold a listed queue (1 unless it is sharded); 0 when the catalog does not list it. */
  shardsOf(name: string): number {
    return this.query<{ shards: number }>(`SELECT ${SHARDS} FROM queues WHERE name = ?`, name)[0]?.shards ?? 0;
  }

  /** A queue object's report: shown at the next flush to every socket whose page holds its queue. */
  report(object: string, h: Headline): void {
    if (!this.board.set(object, h)) return;
    const name = queueNameOf(object);
    this.stale([name]);
    // After a restart a sharded queue's quiet objects do not report: they are asked, so that its sum is whole.
    if (!this.board.get(name)) this.fill([{ name, shards: this.shardsOf(name) }], LIMITS.maxShards);
  }

  /** A name newly listed: told at once to every socket whose prefix it has; its page follows at the next flush. */
  created(name: string): void {
    for (const [ws, live] of this.all()) {
      if (!name.startsWith(live.page.prefix)) continue;
      send(ws, { type: "created", name });
    }
    this.configured(name);
  }

  /**
   * A listed queue's object was created or reconfigured: the pages that show it, or would now, are sent again (its
   * headline, unknown until then, is asked for once the object exists).
   */
  configured(name: string): void {
    for (const live of this.all().values()) {
      const enters = name.startsWith(live.page.prefix) && name > live.page.after && (!live.full || name < live.last);
      if (enters || live.names.has(name)) live.stalePage = true;
    }
    this.schedule();
  }

  deleted(name: string): void {
    this.board.drop(name);
    for (const [ws, live] of this.all()) {
      if (!name.startsWith(live.page.prefix)) continue;
      send(ws, { type: "deleted", name });
      if (live.names.has(name)) live.stalePage = true;
    }
    this.schedule();
  }

  /** Every listed queue and its last headline (null while unknown), asking a bounded number of objects first. */
  async headlines(fill: number): Promise<Shown[]> {
    const queues = this.query<Listed>(`SELECT name, ${SHARDS} FROM queues ORDER BY name`);
    this.stale(await this.board.fill(queues, fill));
    return queues.map((q) => ({ ...q, headline: this.board.get(q.name) ?? null }));
  }

  private sendPage(ws: WebSocket, live: Live): void {
    const { prefix, after, limit } = live.page;
    const entries = this.list(live);
    const total = this.query<{ n: number }>("SELECT count(*) AS n FROM queues WHERE name GLOB ?", `${prefix}*`)[0]!.n;
    const next = live.full ? live.last : null;
    live.stalePage = false;
    live.staleHeads.clear();
    send(ws, { type: "page", prefix, after, limit, total, next, queues: entries });
    // After a restart the board knows nothing: the queues on the page are asked, and shown as they answer.
    const unknown = entries.filter((e) => e.headline === null).map((e) => ({ name: e.name, shards: e.shards ?? 1 }));
    if (unknown.length > 0) this.fill(unknown, limit);
  }

  /** Asks these queues' unknown objects for their stats, `max` at a time, and shows each queue once it is known. */
  private fill(queues: Listed[], max: number): void {
    void this.board.fill(queues, max).then((learned) => {
      this.stale(learned);
      if (learned.length > 0) this.fill(queues, max); // a sharded queue's next objects, until none answers
    });
  }

  /** The page's entries now, remembered as what the socket shows. */
  private list(live: Live): Entry[] {
    const { prefix, after, limit } = live.page;
    // Names hold no GLOB wildcards (their pattern allows none), so `prefix*` matches exactly the names it starts.
    const rows = this.query<{ name: string; config: string; created_at: string }>(
      "SELECT name, config, created_at FROM queues WHERE name > ? AND name GLOB ? ORDER BY name LIMIT ?",
      after,
      `${prefix}*`,
      limit,
    );
    live.names = new Set(rows.map((r) => r.name));
    live.full = rows.length === limit;
    live.last = rows.at(-1)?.name ?? "";
    return rows.map((r) => ({
      name: r.name,
      ...(JSON.parse(r.config) as QueueConfig),
      created_at: r.created_at,
      headline: this.board.get(r.name) ?? null,
    }));
  }

  /** Marks these queues' headlines for the next flush, on every socket that shows them (once they are known). */
  private stale(names: string[]): void {
    const known = names.filter((name) => this.board.get(name));
    if (known.length === 0) return;
    for (const live of this.all().values()) {
      for (const name of known) if (live.names.has(name)) live.staleHeads.add(name);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.flushTimer !== undefined) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, FLUSH_MS);
  }

  private flush(): void {
    for (const [ws, live] of this.all()) {
      if (live.stalePage) this.sendPage(ws, live);
      else if (live.staleHeads.size > 0) {
        const queues = Object.fromEntries([...live.staleHeads].map((n) => [n, this.board.get(n) ?? null]));
        live.staleHeads.clear();
        send(ws, { type: "headlines", queues });
      }
    }
  }

  private track(ws: WebSocket, page: Page): Live {
    const live: Live = { page, names: new Set(), full: false, last: "", stalePage: false, staleHeads: new Set() };
    this.all().set(ws, live);
    return live;
  }

  /** The sockets and their pages; after waking, rebuilt from the attachments (a socket yet to ask shows nothing). */
  private all(): Map<WebSocket, Live> {
    if (this.lives) return this.lives;
    this.lives = new Map();
    for (const ws of this.ctx.getWebSockets()) {
      const page = ws.deserializeAttachment() as Page | null;
      if (page) this.list(this.track(ws, page));
    }
    return this.lives;
  }

  private spend(id: string, expiresAt: number): boolean {
    this.ctx.storage.sql.exec("DELETE FROM feed_tickets WHERE expires_at <= ?", Date.now());
    const spent = this.query(
      "INSERT INTO feed_tickets (id, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING id",
      id,
      expiresAt,
    );
    return spent.length > 0;
  }

  private query<T extends Record<string, SqlStorageValue>>(sql: string, ...params: SqlStorageValue[]): T[] {
    return this.ctx.storage.sql.exec<T>(sql, ...params).toArray();
  }
}

function parse(data: string | ArrayBuffer): { page: Page } | { code: ProblemCode; detail: string } {
  if (typeof data !== "string")
    return { code: "invalid_request", detail: "binary frames are not supported; send JSON text" };
  if (data.length > LIMITS.maxFrameBytes) {
    return { code: "payload_too_large", detail: `a frame may be at most ${LIMITS.maxFrameBytes} bytes` };
  }
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return { code: "invalid_request", detail: "the frame is not JSON" };
  }
  const result = FeedMessage.safeParse(value);
  return result.success ? { page: result.data } : { code: "invalid_request", detail: describeIssues(result.error) };
}
