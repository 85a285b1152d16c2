/**
 * Test helpers for stores, published as `@portcullis/core/testing`: the storage contract suite
 * and the fixtures it builds records with. Run it with node-tap's `t`, or any test object that
 * offers the same assertions (`ContractTest`); nothing here imports a test framework.
 */
export { runStorageContract, listContractCases } from './storage-contract.js';
export type { StorageContractOptions } from './storage-contract.js';
export type { ContractCase, ContractTest, StorageFactory, StorageUnderTest } from './contract-case.js';
export { StorageFixtures, CONTRACT_EPOCH, contractTime } from './storage-fixtures.js';
