// Groups over the queue's WebSocket: a put frame's group, deliveries that carry it, a join subscription on one group,
// and a consumer whose socket drops while it holds a grouped item.
import { describe, expect, it } from "vitest";
import { createQueue, type Msg, op, subscribe, until, waitForMessages } from "./helpers.ts";

const deliveries = (s: { messages: Msg[] }) => s.messages.filter((m) => m.type === "delivery");

describe("groups over sockets", () => {
  it("a put frame's group; deliveries carry it; a group's join fires when it drains, before the queue's", async () => {
    const name = await createQueue();
    const producer = await subscribe(name);
    producer.send({ op: "put", id: "pa", items: [{ item: "a1" }, { item: "a2" }], group: "A" });
    producer.send({ op: "put", id: "pb", item: "b1", group: "B" });
    await until(async () => producer.messages.filter((m) => m.id === "pa" || m.id === "pb").length === 2);
    const joiner = await subscribe(name);
    joiner.send({ op: "join", id: "ja", group: "A" });
    joiner.send({ op: "join", id: "jb", group: "B" });
    joiner.send({ op: "join", id: "all" });
    // Two consumers on two sockets; the first drops while holding a1 (its process died).
    const dying = await subscribe(name);
    dying.send({ op: "consume", id: "c1", prefetch: 1 });
    await until(async () => deliveries(dying).length === 1);
    expect(deliveries(dying)[0]).toMatchObject({ item: "a1", group: "A" });
    const live = await subscribe(name);
    live.send({ op: "consume", id: "c2", prefetch: 1 });
    const finish = async (n: number) => {
      await until(async () => deliveries(live).length >= n);
      const d = deliveries(live)[n - 1]!;
      live.send({ op: "task_done", id: `done-${n}`, receipt: d.receipt });
      return d;
    };
    expect(await finish(1)).toMatchObject({ item: "a2", group: "A" });
    expect(await finish(2)).toMatchObject({ item: "b1", group: "B" });
    await waitForMessages(joiner, 1);
    expect(joiner.messages).toEqual([{ type: "joined", id: "jb", group: "B", unfinished_tasks: 0, dead_lettered: 0 }]);
    dying.ws.close(); // what it held comes back at once, counted against A still
    expect(await finish(3)).toMatchObject({ item: "a1", group: "A", deliveries: 2 });
    await waitForMessages(joiner, 3);
    expect(joiner.messages.slice(1)).toEqual([
      { type: "joined", id: "ja", group: "A", unfinished_tasks: 0, dead_lettered: 0 },
      { type: "joined", id: "all", unfinished_tasks: 0, dead_lettered: 0 },
    ]);
    expect((await op(name, "join", { group: "A", timeout: 0 })).body).toMatchObject({ drained: true });
    for (const s of [producer, joiner, live]) s.ws.close();
  });

  it("a join on a group with nothing unfinished is told at once; a bad group name is an error frame", async () => {
    const name = await createQueue();
    const s = await subscribe(name);
    s.send({ op: "join", id: "empty", group: "nothing-here" });
    await waitForMessages(s, 1);
    expect(s.messages[0]).toEqual({
      type: "joined",
      id: "empty",
      group: "nothing-here",
      unfinished_tasks: 0,
      dead_lettered: 0,
    });
    s.send({ op: "join", id: "bad", group: "a/b" });
    await waitForMessages(s, 2);
    expect(s.messages[1]).toMatchObject({ type: "error", code: "invalid_request" });
    s.ws.close();
  });
});
