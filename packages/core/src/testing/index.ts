/**
 * Test helpers for stores, published as `@portcullis/core/testing`: the storage contract suite
 * and the fixtures it builds records with. Needs `tap` (an optional peer dependency).
 */
export { runStorageContract, listContractCases } from './storage-contract.js';
export type { StorageContractOptions } from './storage-contract.js';
export type { ContractCase, StorageFactory, StorageUnderTest } from './contract-case.js';
export { StorageFixtures, CONTRACT_EPOCH, contractTime } from './storage-fixtures.js';
