export { ScopeError } from './scope-error.js';
export {
  isScopeToken,
  parseScope,
  formatScope,
  isSubset,
  intersectScopes,
  differenceOfScopes,
  unionOfScopes,
  sameScopes,
} from './scope-string.js';
export {
  ScopeRegistry,
  type ScopeMask,
  type ScopeLike,
  type ScopeDefinition,
  type ScopeInfo,
  type ToIntOptions,
} from './scope-registry.js';
export { READ, WRITE, READ_WRITE, createDefaultScopes, toInt, names, check } from './bitmask.js';
