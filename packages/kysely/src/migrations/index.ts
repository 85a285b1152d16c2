import type { Migration, MigrationProvider } from 'kysely';
import { oauth2Schema } from './0001-oauth2-schema.js';
import { oauth1Schema } from './0002-oauth1-schema.js';
import { mysqlWriteProcedures } from './0003-mysql-write-procedures.js';
import { mysqlRedeemProcedure } from './0004-mysql-redeem-procedure.js';
import { mysqlOneStepExchanges } from './0005-mysql-one-step-exchanges.js';
import { mysqlOAuth1NonceProcedure } from './0006-mysql-oauth1-nonce-procedure.js';
import { mysqlGroupedExchanges } from './0007-mysql-grouped-exchanges.js';
import { mysqlGroupedNonceRecords } from './0008-mysql-grouped-nonce-records.js';
import { dropFamilyIndexes } from './0009-drop-family-indexes.js';

/**
 * Every migration, by the name recorded in `portcullis_migration`. Names sort in the order they
 * run; a released name and its migration never change.
 */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001_oauth2_schema': oauth2Schema,
  '0002_oauth1_schema': oauth1Schema,
  '0003_mysql_write_procedures': mysqlWriteProcedures,
  '0004_mysql_redeem_procedure': mysqlRedeemProcedure,
  '0005_mysql_one_step_exchanges': mysqlOneStepExchanges,
  '0006_mysql_oauth1_nonce_procedure': mysqlOAuth1NonceProcedure,
  '0007_mysql_grouped_exchanges': mysqlGroupedExchanges,
  '0008_mysql_grouped_nonce_records': mysqlGroupedNonceRecords,
  '0009_drop_family_indexes': dropFamilyIndexes,
};

/** Serves the migrations from memory: nothing is read from disk at run time, so bundling works. */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...migrations }),
};
