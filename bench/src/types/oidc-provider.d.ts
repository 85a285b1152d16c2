/** The part of oidc-provider (which ships no types) the peers bench uses. */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface KoaContext {
    path: string;
    method: string;
    status: number;
    body: unknown;
    get(field: string): string;
    set(field: string, value: string): void;
  }
  interface ClientCredentialsToken {
    clientId: string;
    scope?: string;
    save(): Promise<string>;
  }
  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    use(middleware: (ctx: KoaContext, next: () => Promise<void>) => Promise<void>): void;
    callback(): (request: IncomingMessage, response: ServerResponse) => void;
    Client: { find(id: string): Promise<object | undefined> };
    ClientCredentials: {
      new (input: { client: object; scope: string }): ClientCredentialsToken;
      find(value: string): Promise<ClientCredentialsToken | undefined>;
    };
  }
}
