import { sql } from 'kysely';
import type { CreateTableBuilder } from 'kysely';
import { capabilitiesOf, type AnyKysely, type Capabilities } from '../dialect.js';

/** A migration that ran without error but left a table or column missing. */
export class MigrationIncompleteError extends Error {
  override name = 'MigrationIncompleteError';
}

/**
 * Creates a migration's tables and then checks, from the database's own catalog, that each one
 * exists with every column the migration asked for. A migration whose statements went somewhere
 * else (a query plugin renaming tables, a connection to another database or schema) fails here,
 * before the Migrator records it as applied.
 *
 * What it writes is frozen with the migrations that use it: it adds no SQL of its own beyond the
 * table options of MySQL-compatible servers.
 */
export class SchemaWriter {
  readonly #db: AnyKysely;
  readonly #capabilities: Capabilities;
  readonly #created = new Map<string, string[]>();

  constructor(db: AnyKysely) {
    this.#db = db;
    this.#capabilities = capabilitiesOf(db);
  }

  /**
   * Flags are stored as 0/1 (see row-mapping.ts): `boolean` where the column takes the integers
   * (MySQL's TINYINT(1), SQLite), `smallint` on PostgreSQL.
   */
  get flagType(): 'boolean' | 'smallint' {
    return this.#capabilities.integerBooleans ? 'boolean' : 'smallint';
  }

  /**
   * Runs `CREATE TABLE name` with the columns `build` adds. On MySQL-compatible servers the table is InnoDB (transactions and row
   * locks), utf8mb4 (every character) with the binary collation, so tokens and digests
   * (base64url: case matters) compare exactly, in unique keys too.
   */
  async createTable(name: string, build: (table: CreateTableBuilder<string, never>) => CreateTableBuilder<string, string>): Promise<void> {
    // The columns asked for, read before the instance's plugins can transform the statement.
    const node = build(this.#db.withoutPlugins().schema.createTable(name)).toOperationNode();
    this.#created.set(name, node.columns.map((column) => column.column.column.name));
    const builder = build(this.#db.schema.createTable(name));
    const statement = this.#capabilities.tableOptions
      ? builder.modifyEnd(sql`engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin`)
      : builder;
    await statement.execute();
  }

  /**
   * Runs `ALTER TABLE name ADD COLUMN`, one statement per column (SQLite adds one at a time), and
   * has `verify` check the column is there.
   */
  async addColumn(
    table: string,
    column: string,
    type: Parameters<CreateTableBuilder<string, never>['addColumn']>[1],
    build: Parameters<CreateTableBuilder<string, never>['addColumn']>[2] = (col) => col,
  ): Promise<void> {
    await this.#db.schema.alterTable(table).addColumn(column, type, build).execute();
    this.#created.set(table, [...(this.#created.get(table) ?? []), column]);
  }

  /** Throws a `MigrationIncompleteError` naming every table or column created above that is not there. */
  async verify(): Promise<void> {
    const tables = await this.#db.introspection.getTables();
    const missing: string[] = [];
    for (const [table, columns] of this.#created) {
      const found = tables.find((candidate) => candidate.name === table);
      if (found === undefined) {
        missing.push(`table ${table}`);
        continue;
      }
      for (const column of columns) {
        if (!found.columns.some((candidate) => candidate.name === column)) missing.push(`column ${table}.${column}`);
      }
    }
    if (missing.length > 0) {
      throw new MigrationIncompleteError(
        `the statements ran but the database has no ${missing.join(', ')}; check that the Kysely instance's plugins and connection reach the database being migrated`,
      );
    }
  }
}
