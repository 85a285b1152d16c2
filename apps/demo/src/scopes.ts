import { createDefaultScopes, type ScopeRegistry } from '@portcullis/scopes';

/**
 * django-oauth2-provider's bitmask defaults (read, write: write includes read) and the polls
 * scopes, each with the words a consent page shows.
 */
export function createDemoScopes(): ScopeRegistry {
  return createDefaultScopes()
    .define({ name: 'polls:read', description: 'See the polls and their choices' })
    .define({ name: 'polls:vote', description: 'Vote in polls in your name' })
    .define({ name: 'polls:results', description: 'See the results of polls' })
    .define({ name: 'polls:stats', description: 'See voting statistics of polls' });
}
