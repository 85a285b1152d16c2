import { createQueryId, RawNode } from 'kysely';
import type { CompiledQuery } from 'kysely';

/**
 * Where a value goes in a statement being prepared: `param((args) => args.id)` stands in for the
 * value the reader picks from each call's arguments. It is typed as that value, so the Kysely
 * builder checks it like any other; at run time it is a marker the compiled query is matched on.
 */
export type Param<Args> = <Value>(read: (args: Args) => Value) => Value;

// No real value starts with a NUL: a parameter that does not is a constant frozen into the statement.
const MARK = '\u0000portcullis-param:';

/**
 * A statement built and compiled with Kysely once, then run with new arguments on every call.
 *
 * Building a Kysely query (the operation tree, freezing it, compiling it) costs about as much as
 * running it on SQLite, and a request-path statement only ever differs in its values. Kysely still
 * writes the SQL, so quoting and placeholders are the dialect's; the placeholders' order in the
 * compiled SQL decides the order the arguments are read in, whatever the query's shape.
 */
export class PreparedStatement<Args, Row = unknown> {
  readonly sql: string;
  readonly #readers: readonly ((args: Args) => unknown)[];
  readonly #node: RawNode;

  constructor(build: (param: Param<Args>) => CompiledQuery<Row>) {
    const readers: ((args: Args) => unknown)[] = [];
    const param: Param<Args> = (read) => {
      readers.push(read);
      return `${MARK}${readers.length - 1}` as never;
    };
    const compiled = build(param);
    this.sql = compiled.sql;
    this.#readers = compiled.parameters.map((value) => {
      const reader = typeof value === 'string' && value.startsWith(MARK) ? readers[Number(value.slice(MARK.length))] : undefined;
      if (reader === undefined) throw new Error(`Every value of a prepared statement must be a param(): ${compiled.sql}`);
      return reader;
    });
    this.#node = RawNode.createWithSql(compiled.sql);
  }

  /** The query for one call: the SQL built once, this call's values in placeholder order. */
  compile(args: Args): CompiledQuery<Row> {
    return {
      sql: this.sql,
      query: this.#node,
      parameters: this.#readers.map((read) => read(args)),
      queryId: createQueryId(),
    };
  }
}
