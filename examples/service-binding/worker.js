// GET /?queue=NAME runs a small batch through the bound queue service: create, put three jobs, get and
// task_done each, join; it answers what each step returned.
export default {
  async fetch(request, env) {
    const name = new URL(request.url).searchParams.get("queue") ?? "from-a-worker";
    const steps = { created: await env.QUEUES.createQueue(name) };
    steps.put = await env.QUEUES.putMany(name, [{ n: 1 }, { n: 2 }, { n: 3 }]);
    steps.done = [];
    for (
      let got = await env.QUEUES.get(name, { block: false });
      got.ok;
      got = await env.QUEUES.get(name, { block: false })
    ) {
      steps.done.push((await env.QUEUES.taskDone(name, got.job.receipt)).unfinished_tasks);
    }
    steps.joined = await env.QUEUES.join(name);
    steps.empty = await env.QUEUES.get(name, { block: false }); // a refusal is a value: { ok: false, code: "empty", ... }
    await env.QUEUES.deleteQueue(name);
    return Response.json(steps);
  },
};
