// The web console's static files, embedded in the compiled binary: imported as files, so the same path
// works from source and from the binary's own file system.
import css from "../console/console.css" with { type: "file" };
import js from "../console/console.js" with { type: "file" };
import html from "../console/index.html" with { type: "file" };

// Bun's types describe an HTML import as a bundle; with `type: "file"` it is the file's path.
const asPath = (imported: unknown) => imported as string;

/**
 * The page runs only its own script and style and talks only to this server; blob: is the recording. No
 * other page may frame it (frame-ancestors, and X-Frame-Options for browsers that predate it): a framed
 * console could be overlaid to trick a signed-in user into clicking End.
 */
const SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; media-src 'self' blob:; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

function asset(path: string, type: string): () => Response {
  return () =>
    new Response(Bun.file(path), {
      headers: { ...SECURITY_HEADERS, "Content-Type": type, "Cache-Control": "no-cache" },
    });
}

const page = asset(asPath(html), "text/html; charset=utf-8");

/** Open without a token: the files hold no data; the page asks /api/* for it with the token. */
export const consoleRoutes = {
  "/console": page,
  "/console/": page,
  "/console/console.js": asset(asPath(js), "text/javascript; charset=utf-8"),
  "/console/console.css": asset(asPath(css), "text/css; charset=utf-8"),
};
