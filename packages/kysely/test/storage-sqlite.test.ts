import t from 'tap';
import { runStorageContract } from '@portcullis/core/testing';
import { sqliteFileFactory, sqliteMemoryFactory } from './helpers/databases.js';

await runStorageContract(t, 'Kysely on sqlite::memory:', sqliteMemoryFactory);
await runStorageContract(t, 'Kysely on a SQLite file (WAL)', sqliteFileFactory);
