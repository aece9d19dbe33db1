// A real S3-compatible server for a test file: s3rver (objects on disk in a temp dir) on 127.0.0.1, with every
// request's AWS Signature Version 4 checked in front of it, which s3rver itself does not: a client signing with
// the wrong secret, or signing wrongly, is refused as S3 refuses it. It can be stopped and started again on the
// same port with the same objects, to play an outage.
import { createHash, createHmac } from "node:crypto";
import { rmSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import S3rver, { type KoaContext, type Middleware } from "s3rver";
import { tempDir } from "./app.ts";
import { until } from "./until.ts";

/** s3rver's one account, the only key it lets in. */
export const S3_ACCESS_KEY_ID = "S3RVER";
/** s3rver checks no version 4 signature: the check below holds a client to this secret. */
export const S3_SECRET_ACCESS_KEY = "test-secret-5c0e1d7a";
export const S3_BUCKET = "recordings";

export interface S3Server {
  /** http://127.0.0.1:PORT, the same across stop and start. */
  endpoint: string;
  /** Where an object's bytes are on disk. */
  objectPath(key: string): string;
  /** Sets an object's Last-Modified, as retention reads it. */
  age(key: string, modified: Date): void;
  /** Requests refused because of their signature. */
  refused: number;
  stop(): Promise<void>;
  /** Starts it again after a stop; a no-op while it runs. */
  start(): Promise<void>;
  remove(): Promise<void>;
}

export async function startS3(): Promise<S3Server> {
  const dir = tempDir("agenticai-s3-");
  let port = 0;
  let server: S3rver | null = null;
  const checked = { refused: 0 };
  const start = async () => {
    if (server) return;
    server = new S3rver({
      address: "127.0.0.1",
      port,
      silent: true,
      directory: dir,
      configureBuckets: [{ name: S3_BUCKET }],
    });
    server.middleware.unshift(signatureCheck(() => checked.refused++));
    readAfterWrite(server);
    port = (await server.run()).port;
  };
  await start();
  const objectPath = (key: string) => join(dir, S3_BUCKET, `${key}._S3rver_object`);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    objectPath,
    age(key, modified) {
      utimesSync(objectPath(key), modified, modified);
    },
    get refused() {
      return checked.refused;
    },
    start,
    async stop() {
      await server?.close();
      server = null;
    },
    async remove() {
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * s3rver answers a PUT once it has read the body, before its file holds all of it, so a GET right after may read
 * part of the object. S3 reads what was written once the PUT is answered, and so does this one: the answer waits.
 */
function readAfterWrite(server: S3rver): void {
  const { store } = server;
  const put = store.putObject.bind(store);
  store.putObject = async (object) => {
    const stored = await put(object);
    const path = store.getResourcePath(object.bucket, object.key, "object");
    await until(() => statSync(path, { throwIfNoEntry: false })?.size === stored.size, "s3rver to write the object");
    return stored;
  };
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

/** RFC 3986 percent-encoding, as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
const encode = (text: string) =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function canonicalQuery(query: string): string {
  return query
    .split("&")
    .filter((pair) => pair !== "")
    .map((pair) => {
      const [name = "", value = ""] = pair.split("=").map((part) => decodeURIComponent(part.replace(/\+/g, " ")));
      return `${encode(name)}=${encode(value)}`;
    })
    .sort()
    .join("&");
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const hmac = (key: string | Buffer, text: string) => createHmac("sha256", key).update(text).digest();

/** The signature S3 expects for this request, from AWS's SigV4 specification. */
function expectedSignature(ctx: KoaContext, date: string, region: string, signed: string): string {
  const [path = "/", query = ""] = (ctx.req.url ?? "/").split("?");
  const headers = signed
    .split(";")
    .map(
      (name) =>
        `${name}:${String(ctx.req.headers[name] ?? "")
          .trim()
          .replace(/\s+/g, " ")}\n`,
    )
    .join("");
  const request = [ctx.method, path, canonicalQuery(query), headers, signed, ctx.get("x-amz-content-sha256")];
  const scope = `${date}/${region}/s3/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", ctx.get("x-amz-date"), scope, sha256(request.join("\n"))].join("\n");
  const key = ["s3", "aws4_request"].reduce(hmac, hmac(hmac(`AWS4${S3_SECRET_ACCESS_KEY}`, date), region));
  return createHmac("sha256", key).update(toSign).digest("hex");
}

function signatureCheck(onRefused: () => void): Middleware {
  return async (ctx, next) => {
    const m = AUTHORIZATION.exec(ctx.get("authorization"));
    if (m?.[1] === S3_ACCESS_KEY_ID && m[5] === expectedSignature(ctx, m[2]!, m[3]!, m[4]!)) return next();
    onRefused();
    ctx.status = 403;
    ctx.type = "application/xml";
    ctx.body =
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code>' +
      "<Message>The request signature we calculated does not match the signature you provided.</Message></Error>";
  };
}
