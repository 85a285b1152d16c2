import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import { MYSQL_SERVER, type MysqlTestDatabase } from './helpers/databases.js';

/** A fresh database `portcullis_rel_<random>` for the reliability tests; `drop()` removes it. */
export async function createReliabilityMysqlDatabase(): Promise<MysqlTestDatabase> {
  const name = `portcullis_rel_${randomBytes(6).toString('hex')}`;
  const admin = await createConnection(MYSQL_SERVER);
  try {
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: `mysql://${MYSQL_SERVER.user}:@${MYSQL_SERVER.host}:${MYSQL_SERVER.port}/${name}`,
    async drop() {
      const connection = await createConnection(MYSQL_SERVER);
      try {
        await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await connection.end();
      }
    },
  };
}
