// Typed calls from the Worker to Durable Objects, with platform failures told apart from our own bugs.

/** A failure between the Worker and an object (reset on deploy or eviction, lost connection, overload). */
export class ObjectUnavailable extends Error {
  constructor(
    readonly overloaded: boolean,
    options: ErrorOptions,
  ) {
    super("durable object unavailable", options);
  }
}

/** An object's methods, typed as its class (RPC stub types wrap results in ways that lose an outcome's `ok` tag). */
export type Api<T> = {
  [K in keyof T]: T[K] extends (...a: infer A) => infer R ? (...a: A) => Promise<Awaited<R>> : never;
};

/**
 * Calls go through this proxy so that platform failures become ObjectUnavailable: an error thrown by our own
 * object code arrives marked `remote` and stays a 500, anything else is the platform's and is worth a retry.
 */
export function rpc<T>(stub: object): Api<T> {
  const methods = stub as Record<string, (...args: unknown[]) => Promise<unknown>>;
  return new Proxy({} as Api<T>, {
    // No `then`: a stub may be the value of a promise, which awaiting must not mistake for a promise itself.
    get: (_, method: string) =>
      method === "then"
        ? undefined
        : async (...args: unknown[]) => {
            try {
              return await methods[method]!(...args);
            } catch (e) {
              const { remote, overloaded } = e as { remote?: boolean; overloaded?: boolean };
              throw remote ? e : new ObjectUnavailable(overloaded === true, { cause: e });
            }
          },
  });
}
