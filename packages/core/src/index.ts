export * from './errors.js';
export type * from './storage/records.js';
export type * from './storage/port.js';
export * from './crypto.js';
