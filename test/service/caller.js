// An auxiliary Worker standing for a user's own Worker: it holds a service binding to the queue service's
// QueueService entrypoint and calls it over RPC. Tests reach it through fetch (a blocking RPC awaited straight
// from a test would hang the runner: workers-sdk #11122), as { method, args } in, { result } or { error } out.
export default {
  async fetch(request, env) {
    const { method, args } = await request.json();
    try {
      return Response.json({ result: (await env.QUEUES[method](...args)) ?? null });
    } catch (e) {
      return Response.json({ error: { name: e.name, message: e.message, code: e.code, status: e.status } });
    }
  },
};
