import { z } from "@hono/zod-openapi";

/** Field schemas shared by many modules, so the same rule reads the same everywhere. */

export const Email = z
  .string()
  .trim()
  .max(254)
  .toLowerCase()
  .pipe(z.email({ message: "Invalid email address" }))
  .openapi({ example: "ada@example.com", format: "email" });

export const Password = z
  .string()
  .min(10, "Use at least 10 characters.")
  .max(256, "Use at most 256 characters.")
  .openapi({ example: "correct-horse-battery", format: "password" });

export const Name = z.string().trim().min(1, "Required.").max(200).openapi({ example: "Ada Lovelace" });

export const Slug = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, "Use lowercase letters, digits and inner hyphens.")
  .openapi({ example: "intro-to-statistics" });

export const Url = z
  .string()
  .max(2048)
  .url()
  .refine((v) => /^https?:\/\//i.test(v), "Use an http(s) URL.")
  .openapi({ example: "https://cdn.example.com/avatar.png" });

export const Locale = z
  .string()
  .max(35)
  .regex(/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/, "Use a BCP 47 language tag such as `en` or `pt-BR`.")
  .openapi({ example: "en" });

export const Timezone = z
  .string()
  .max(64)
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat("en", { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, "Use an IANA time zone such as `Europe/Paris`.")
  .openapi({ example: "Europe/Paris" });

export const Hostname = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(
    /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
    "Use a hostname such as `learn.example.com`.",
  )
  .openapi({ example: "learn.example.com" });

export const IsoDateTime = z.iso.datetime({ offset: true }).openapi({ example: "2027-01-01T00:00:00Z" });

/** A JSON object of settings, bounded so nobody stores megabytes in a settings column. */
export const SettingsObject = z
  .record(z.string().max(100), z.unknown())
  .refine((v) => JSON.stringify(v).length <= 16_384, "Settings may be at most 16 KiB of JSON.")
  .openapi({ example: { brand_color: "#3f4f65" } });
