// zod/mini rather than zod's classic API: the same validation core, but tree-shakable, so the binary
// evaluates a fraction of the code before it can listen (cold start is a product target). Every
// schema module imports zod from here, so the English messages are installed before any parse.
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

// zod/mini ships without messages ("Invalid input" for everything); these are classic zod's.
z.config(en());

export { z };
