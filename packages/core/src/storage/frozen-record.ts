/**
 * Records kept in memory and handed out as they are, to any number of callers, without a copy per
 * read. A frozen record cannot change: its fields cannot be assigned, its arrays (`scope`,
 * `redirectUris`...) are frozen, and its dates are `Date`s whose setters throw (freezing a plain
 * `Date` would not stop `setTime`, since its time lives in an internal slot). A change to a kept
 * record is a new frozen record put in its place, so a record someone holds keeps the values it had.
 */
export function freezeRecord<T extends object>(record: T): Readonly<T> {
  const copy = { ...record } as Record<string, unknown>;
  for (const key of Object.keys(copy)) {
    const value = copy[key];
    if (value instanceof Date) {
      if (!(value instanceof FrozenDate)) copy[key] = new FrozenDate(value.getTime());
    } else if (Array.isArray(value)) {
      // Record arrays hold strings: once frozen, an array can be shared by the records made from it.
      if (!Object.isFrozen(value)) copy[key] = Object.freeze([...(value as unknown[])]);
    }
  }
  return Object.freeze(copy) as Readonly<T>;
}

/** A `Date` that cannot be changed: every setter throws, and the object itself is frozen. */
class FrozenDate extends Date {
  constructor(time: number) {
    super(time);
    Object.freeze(this);
  }
}

for (const name of Object.getOwnPropertyNames(Date.prototype)) {
  if (name.startsWith('set')) {
    Object.defineProperty(FrozenDate.prototype, name, {
      value(): never {
        throw new TypeError(`A stored record's date cannot be changed (${name}): make a new Date instead.`);
      },
    });
  }
}
