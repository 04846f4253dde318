// How the objects of a sharded queue are named: the first is the queue's own object (the coordinator), the others
// `<name>#<i>`, which no queue name can be ('#' is not in a queue name's alphabet).
export const shardName = (name: string, i: number) => (i === 0 ? name : `${name}#${i}`);

/** The queue a shard object belongs to, from the name it was addressed by. */
export const queueNameOf = (objectName: string) => objectName.split("#")[0]!;
