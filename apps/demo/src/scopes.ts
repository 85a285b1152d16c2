import { createDefaultScopes, type ScopeRegistry } from '@portcullis/scopes';

/**
 * django-oauth2-provider's bitmask defaults (read, write: write includes read), the polls scopes
 * and the OpenID Connect ones, each with the words a consent page shows.
 */
export function createDemoScopes(): ScopeRegistry {
  return createDefaultScopes()
    .define({ name: 'polls:read', description: 'See the polls and their choices' })
    .define({ name: 'polls:vote', description: 'Vote in polls in your name' })
    .define({ name: 'polls:results', description: 'See the results of polls' })
    .define({ name: 'polls:stats', description: 'See voting statistics of polls' })
    // OpenID Connect Core 1.0 section 5.4: signing in, and the claims each scope shares.
    .define({ name: 'openid', description: 'Sign you in with your polls account' })
    .define({ name: 'profile', description: 'See your name and username' })
    .define({ name: 'email', description: 'See your email address' });
}
