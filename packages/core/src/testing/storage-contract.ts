import type { ContractCase, ContractTest, StorageFactory } from './contract-case.js';
import { audienceCases } from './contract-audience.js';
import { clientCases } from './contract-clients.js';
import { codeCases } from './contract-codes.js';
import { concurrencyCases } from './contract-concurrency.js';
import { grantLifecycleCases } from './contract-grant-lifecycle.js';
import { deviceCodeCases } from './contract-device-codes.js';
import { oauth1Cases } from './contract-oauth1.js';
import { openidCases } from './contract-openid.js';
import { purgeCases } from './contract-purge.js';
import { recordCases } from './contract-records.js';
import { registrationCases } from './contract-registration.js';
import { secretCases } from './contract-secrets.js';
import { signingKeyCases } from './contract-signing-keys.js';
import { tokenCases } from './contract-tokens.js';
import { StorageFixtures } from './storage-fixtures.js';

export interface StorageContractOptions {
  /** How many expired rows the batched purge case creates. Default 2500 (batches of 1000). */
  batchedPurgeRows?: number;
}

/** Every case of the contract, by section, for a store's own test file to pick from if it must. */
export function listContractCases(options: StorageContractOptions = {}): Record<string, ContractCase[]> {
  return {
    clients: clientCases,
    'dynamic registrations': registrationCases,
    'authorization codes': codeCases,
    'device codes': deviceCodeCases,
    tokens: tokenCases,
    'OAuth 1.0a': oauth1Cases,
    'records handed out': recordCases,
    purge: purgeCases({ batchedRows: options.batchedPurgeRows ?? 2500 }),
    concurrency: concurrencyCases,
    secrets: secretCases,
    'resource audiences': audienceCases,
    'signing keys': signingKeyCases,
    'OpenID Connect': openidCases,
    'grant lifecycle': grantLifecycleCases,
  };
}

/**
 * The storage contract: every operation of the port, single use under concurrency, family
 * revocation, batched purge, and no credential at rest. A store is done when this passes.
 * Each case opens its own empty store from `factory` and closes it afterwards.
 *
 * ```ts
 * import t from 'tap';
 * await runStorageContract(t, 'memory', async () => ({ storage: new MemoryStorage(), close: async () => {} }));
 * ```
 */
export async function runStorageContract(
  t: ContractTest,
  name: string,
  factory: StorageFactory,
  options: StorageContractOptions = {},
): Promise<void> {
  await t.test(`storage contract: ${name}`, async (t) => {
    for (const [section, cases] of Object.entries(listContractCases(options))) {
      await t.test(section, async (t) => {
        for (const contractCase of cases) {
          await t.test(contractCase.name, async (t) => {
            const store = await factory();
            try {
              await contractCase.run(t, store, new StorageFixtures());
            } finally {
              await store.close();
            }
          });
        }
      });
    }
  });
}
