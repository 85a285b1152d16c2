export { buildApp, type BuildAppOptions } from './app.js';
export { runCli } from './cli.js';
export { createDemoScopes } from './scopes.js';
export { migrateDemo, rollbackDemo } from './db/migrations.js';
export { openDatabase } from './db/database.js';
export { hashPassword, verifyPassword } from './passwords.js';
export { createUser, verifyUserCredentials, findUserByUsername, findUserById } from './users.js';
export { castVote, createPoll, getResults, getStats, listPolls, findPoll } from './polls.js';
