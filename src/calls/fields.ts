import { z } from "../config/zod.ts";

// A blank or null field counts as left out, so clients that send every key still get the defaults.
export const blankAsMissing = <T extends z.core.$ZodType>(schema: T) =>
  z.pipe(
    z.transform((v: unknown): unknown => (v === null || (typeof v === "string" && v.trim() === "") ? undefined : v)),
    schema,
  );
