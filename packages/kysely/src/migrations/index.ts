import type { Migration, MigrationProvider } from 'kysely';
import { oauth2Schema } from './0001-oauth2-schema.js';
import { oauth1Schema } from './0002-oauth1-schema.js';
import { clientRegistration } from './0003-client-registration.js';
import { signingKeys } from './0004-signing-keys.js';
import { openidConnect } from './0005-openid-connect.js';
import { grantLifecycle } from './0006-grant-lifecycle.js';
import { deviceAuthorization } from './0007-device-authorization.js';

/**
 * Every migration, by the name recorded in `portcullis_migration`. Names sort in the order they
 * run; a released name and its migration never change.
 */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001_oauth2_schema': oauth2Schema,
  '0002_oauth1_schema': oauth1Schema,
  '0003_client_registration': clientRegistration,
  '0004_signing_keys': signingKeys,
  '0005_openid_connect': openidConnect,
  '0006_grant_lifecycle': grantLifecycle,
  '0007_device_authorization': deviceAuthorization,
};

/** Serves the migrations from memory: nothing is read from disk at run time, so bundling works. */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...migrations }),
};
