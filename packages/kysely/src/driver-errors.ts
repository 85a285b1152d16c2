import { StorageError } from '@portcullis/core';

interface DriverError {
  code?: unknown;
  errno?: unknown;
}

const asDriverError = (error: unknown): DriverError =>
  typeof error === 'object' && error !== null ? (error as DriverError) : {};

/**
 * A unique or primary key refused the row: MySQL ER_DUP_ENTRY, PostgreSQL's SQLSTATE 23505
 * (unique_violation, which pg reports as `code`), SQLite's constraint codes.
 */
export function isDuplicateKey(error: unknown): boolean {
  const { code, errno } = asDriverError(error);
  return (
    code === 'ER_DUP_ENTRY' ||
    code === '23505' ||
    errno === 1062 ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

/**
 * The server rolled this transaction back so that another could finish: an InnoDB deadlock
 * victim, or on PostgreSQL a deadlock (SQLSTATE 40P01) or a serialization failure (40001). The
 * whole transaction is undone, so it is safe to run it again from the start.
 */
export function isDeadlock(error: unknown): boolean {
  const { code, errno } = asDriverError(error);
  return code === 'ER_LOCK_DEADLOCK' || errno === 1213 || code === '40P01' || code === '40001';
}

/**
 * A statement waited longer than `innodb_lock_wait_timeout` for a row lock (MySQL 1205), or than
 * `lock_timeout` on PostgreSQL (SQLSTATE 55P03, lock_not_available).
 */
export function isLockWaitTimeout(error: unknown): boolean {
  const { code, errno } = asDriverError(error);
  return code === 'ER_LOCK_WAIT_TIMEOUT' || errno === 1205 || code === '55P03';
}

/**
 * The error a caller sees when the database fails. Driver messages can name hosts, users, tables
 * and SQL, so they stay in `cause` and the message only says which operation failed.
 */
export function toStorageError(operation: string, error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  const reason = isDuplicateKey(error)
    ? ': a row with the same key already exists'
    : isLockWaitTimeout(error)
      ? ': a row lock was held longer than the lock wait timeout'
      : '';
  return new StorageError(`The database failed during ${operation}${reason}.`, { cause: error });
}
