import { and, eq, inArray } from "drizzle-orm";
import type { TenantContext } from "../../platform/auth";
import { ApiError } from "../../platform/errors";
import { outboxInsert } from "../../platform/events";
import { contains, type ListParams, orderBy, paginate } from "../../platform/pagination";
import { slugify } from "../../platform/slug";
import { nowIso } from "../../platform/time";
import { type CATEGORY_TYPES, categories } from "./tables";

type CategoryRow = typeof categories.$inferSelect;
type CategoryType = (typeof CATEGORY_TYPES)[number];

export function toCategory(row: CategoryRow) {
  return {
    id: row.id,
    type: row.type,
    name: row.name,
    slug: row.slug,
    description: row.description,
    position: row.position,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

export async function listCategories(ctx: TenantContext, query: ListParams & { q?: string; type?: CategoryType }) {
  const where = and(
    eq(categories.tenantId, ctx.tenantId),
    query.type ? eq(categories.type, query.type) : undefined,
    query.q ? contains(categories.name, query.q) : undefined,
  );
  const order = orderBy(
    query.sort,
    { name: categories.name, position: categories.position, created_at: categories.createdAt },
    categories.id,
  );
  return paginate(ctx.db, categories, where, order, query, toCategory);
}

export async function findCategory(ctx: TenantContext, id: number) {
  const row = await ctx.db.query.categories.findFirst({
    where: and(eq(categories.tenantId, ctx.tenantId), eq(categories.id, id)),
  });
  if (!row) throw ApiError.notFound(`Category ${id}`);
  return row;
}

export async function createCategory(
  ctx: TenantContext,
  input: { type: CategoryType; name: string; slug?: string; description?: string | null; position?: number },
) {
  const slug = input.slug ?? slugify(input.name);
  const clash = await ctx.db.query.categories.findFirst({
    where: and(eq(categories.tenantId, ctx.tenantId), eq(categories.type, input.type), eq(categories.slug, slug)),
  });
  if (clash) {
    throw ApiError.conflict(`A ${input.type} category with slug "${slug}" already exists.`, {
      errors: [{ path: "slug", message: "Already taken." }],
    });
  }
  const now = nowIso();
  const [[row]] = await ctx.db.batch([
    ctx.db
      .insert(categories)
      .values({
        tenantId: ctx.tenantId,
        type: input.type,
        name: input.name,
        slug,
        description: input.description ?? null,
        position: input.position ?? 0,
        createdAt: now,
        updatedAt: now,
      })
      .returning(),
    outboxInsert(ctx.db, ctx.tenantId, "category.created", { type: input.type, slug }),
  ]);
  return toCategory(row);
}

/** Checks that every id is a category of the given type in this tenant; reports the ones that are not. */
export async function assertCategoriesExist(ctx: TenantContext, ids: number[], type: CategoryType, path: string) {
  if (ids.length === 0) return;
  const found = await ctx.db
    .select({ id: categories.id })
    .from(categories)
    .where(and(eq(categories.tenantId, ctx.tenantId), eq(categories.type, type), inArray(categories.id, ids)));
  const known = new Set(found.map((r) => r.id));
  const missing = ids.filter((id) => !known.has(id));
  if (missing.length) {
    throw ApiError.validation(
      missing.map((id) => ({ path, message: `Category ${id} is not a ${type} category of this academy.` })),
    );
  }
}
