// zod leaves `key: undefined` where a transform of a present optional field returns undefined;
// the code base runs with exactOptionalPropertyTypes, where an optional field is absent, never
// `undefined`, and peers should not see such keys either.

/** A shallow copy without the keys whose value is undefined. */
export function withoutUndefined<T extends object> (o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}
