// The S3 server the recording tests store to ships no types: what test/support/s3.ts uses of it.
declare module "s3rver" {
  import type { IncomingMessage, ServerResponse } from "node:http";

  /** Koa's context, as far as a middleware in front of s3rver's routes reads and answers it. */
  export interface KoaContext {
    req: IncomingMessage;
    res: ServerResponse;
    method: string;
    status: number;
    type: string;
    body: unknown;
    get(header: string): string;
  }
  export type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

  export interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory: string;
    configureBuckets?: { name: string }[];
  }

  /** Where s3rver keeps objects: files in its directory. */
  export interface FilesystemStore {
    putObject(object: { bucket: string; key: string }): Promise<{ size: number; md5: string }>;
    getResourcePath(bucket: string, key: string, resource: "object"): string;
  }

  export default class S3rver {
    constructor(options: S3rverOptions);
    store: FilesystemStore;
    /** Koa's middleware list, composed when the server starts listening. */
    middleware: Middleware[];
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
  }
}
