// A push receiver as a Worker: a 2xx completes the item (its task_done); any other answer has it retried with backoff.
// In a project of your own, import verifyWebhook from "joinable-queues-client" (or use the standardwebhooks package).
import { verifyWebhook, WebhookVerificationError } from "../../clients/typescript/src/webhooks.ts";

interface Env {
  /** The queue's `whsec_…` secret, answered once when push was configured (`wrangler secret put WEBHOOK_SECRET`). */
  WEBHOOK_SECRET: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const body = await request.text(); // the raw text: the signature covers these exact bytes
    let message: Awaited<ReturnType<typeof verifyWebhook>>;
    try {
      message = await verifyWebhook(env.WEBHOOK_SECRET, request.headers, body);
    } catch (e) {
      if (e instanceof WebhookVerificationError) return new Response(e.message, { status: 401 });
      throw e;
    }
    if (message.type === "queue.drained") {
      console.log(`${message.data.queue} drained (${message.data.dead_lettered} dead-lettered)`);
    } else {
      // Delivery is at least once: webhook-id is the same on every redelivery of an item, to de-duplicate by.
      console.log(`job ${message.data.id} (delivery ${message.data.deliveries}):`, JSON.stringify(message.data.item));
    }
    return new Response(null, { status: 204 });
  },
};
