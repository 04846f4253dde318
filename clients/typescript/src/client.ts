// The entry point: a service's URL and credentials, its queues, and the calls about whole queues.
import type { QueueError } from "./errors.ts";
import { Queue } from "./queue.ts";
import { type ClientOptions, Transport } from "./transport.ts";
import type { Answer, QueueConfig, QueueInfo } from "./types.ts";

export class QueueClient {
  private readonly transport: Transport;

  constructor(url: string, options: ClientOptions = {}) {
    this.transport = new Transport(url, options);
  }

  /** A handle on a queue (no call is made: it must exist, or be created, before it is used). */
  queue<T = unknown>(name: string): Queue<T> {
    return new Queue<T>(this.transport, name);
  }

  /** Creates a queue, or answers the existing one if its configuration is the same (409 Conflict if not). */
  async createQueue<T = unknown>(name: string, config: QueueConfig = {}): Promise<Queue<T>> {
    await this.transport.request<Answer<"createQueue">>("PUT", `/v1/queues/${encodeURIComponent(name)}`, {
      body: config,
    });
    return this.queue<T>(name);
  }

  /** Every queue the token may see, in name order, fetched a page at a time. */
  async *listQueues(options: { pageSize?: number } = {}): AsyncGenerator<QueueInfo> {
    const limit = options.pageSize ?? 100;
    for (let after: string | null = ""; after !== null; ) {
      const query = `limit=${limit}${after ? `&after=${encodeURIComponent(after)}` : ""}`;
      const page: Answer<"listQueues"> = await this.transport.request("GET", `/v1/queues?${query}`);
      yield* page.queues;
      after = page.next;
    }
  }

  /**
   * Deletes a queue and all its items; its waiting callers and subscribers are told. Retried as any call: a 404
   * after an attempt that may have deleted it is that attempt's success (NotFound otherwise).
   */
  async deleteQueue(name: string): Promise<void> {
    const landed = (e: QueueError) => e.code === "not_found";
    await this.transport.request("DELETE", `/v1/queues/${encodeURIComponent(name)}`, { landed });
  }
}
