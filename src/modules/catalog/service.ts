/**
 * The read side of the catalog: what anyone may see of an academy (published courses and learning paths) and a
 * signed-in learner's view of a course. A read model over the courses, learning-paths, categories and users
 * tables: it only reads them (every write goes through the owning module's service).
 *
 * Caching (DESIGN.md section 11): public answers carry an ETag made of the tenant id, its `catalog_version` (bumped
 * by every catalog-visible write, see `catalogChanged`), the course's `version` where one course is shown, and the
 * normalized query; the JSON body is kept in the Cache API under a key holding the same versions, so a repeat
 * read costs the tenant lookup (and the course's version) and nothing else. Versioned keys never go stale: a
 * change moves readers to new keys, old entries age out.
 */
import { and, asc, eq, isNull, type SQL, sql } from "drizzle-orm";
import { SQLiteAsyncDialect, type SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { LearnerPrincipal, TenantContext } from "../../platform/auth";
import { base64url, fromBase64url } from "../../platform/crypto";
import { ApiError } from "../../platform/errors";
import { contains } from "../../platform/pagination";
import { categories } from "../categories/tables";
import { courseOutline, type OutlineData } from "../courses/curriculum.service";
import { courseCategories, courseInstructors, courses } from "../courses/tables";
import { getPublishedPathBySlug } from "../learning-paths/service";
import { learningPaths } from "../learning-paths/tables";
import { ratingAverage, ratingDistribution } from "../ratings/service";
import { tenants } from "../tenants/tables";
import { users } from "../users/tables";
import { CATALOG_KINDS, type CATALOG_SORTS } from "./schemas";

type CourseRow = typeof courses.$inferSelect;

// ---- caching ---------------------------------------------------------------------------------------------------

/** Bump when the shape of a cached answer changes, so a deploy never serves bodies or 304s of the old shape. */
const CACHE_REVISION = 1;
/** What browsers and shared caches may do with a public answer: keep it a minute, then revalidate by ETag. */
export const PUBLIC_CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=60";
/** How long the Cache API keeps a body (its key is versioned, so this only bounds storage). */
const STORED_SECONDS = 3600;
const CACHE_ORIGIN = "https://cache.lectern.internal";

/** FNV-1a, 32 bits, hex: a short, stable tag of a normalized query (ETags need not be secret or unique). */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

/** A cacheable public answer: its weak ETag and the Cache API key of its body. */
export interface CacheSlot {
  etag: string;
  key: string;
}

export function cacheSlot(tenantId: number, versions: (string | number)[], resource: string): CacheSlot {
  const tag = [`r${CACHE_REVISION}`, tenantId, ...versions, fnv1a(resource)].join(".");
  return {
    etag: `W/"${tag}"`,
    key: `${CACHE_ORIGIN}/r${CACHE_REVISION}/t/${tenantId}/v/${versions.join("/")}/${resource}`,
  };
}

/** RFC 9110 `If-None-Match` with the weak comparison: `*`, or any listed tag equal to ours ignoring `W/`. */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const ours = etag.replace(/^W\//, "");
  return ifNoneMatch.split(",").some((raw) => {
    const tag = raw.trim();
    return tag === "*" || tag.replace(/^W\//, "") === ours;
  });
}

function cacheStore(): Cache | undefined {
  try {
    return (globalThis as { caches?: CacheStorage & { default?: Cache } }).caches?.default;
  } catch {
    return undefined;
  }
}

/** The cached JSON body, or undefined on a miss or any cache failure (the caller then reads D1). */
/**
 * The bodies this isolate read or stored lately, in front of the Cache API (which costs a round trip to the
 * colo's cache): keys carry every version a body depends on, so an entry is never stale, only evicted (oldest
 * first past MEMO_MAX_BYTES, or after MEMO_MS).
 */
const MEMO_MAX_BYTES = 8 * 1024 * 1024;
const MEMO_MAX_BODY = 512 * 1024;
const MEMO_MS = 60_000;
const memo = new Map<string, { body: string; until: number }>();
let memoBytes = 0;

function remember(key: string, body: string) {
  if (body.length > MEMO_MAX_BODY || memo.has(key)) return;
  memo.set(key, { body, until: Date.now() + MEMO_MS });
  memoBytes += body.length;
  for (const [oldest, entry] of memo) {
    if (memoBytes <= MEMO_MAX_BYTES) break;
    memo.delete(oldest);
    memoBytes -= entry.body.length;
  }
}

export async function cachedBody(key: string): Promise<string | undefined> {
  const kept = memo.get(key);
  if (kept && kept.until > Date.now()) return kept.body;
  if (kept) {
    memo.delete(key);
    memoBytes -= kept.body.length;
  }
  try {
    const hit = await cacheStore()?.match(key);
    if (!hit) return undefined;
    const body = await hit.text();
    remember(key, body);
    return body;
  } catch (err) {
    console.warn("catalog cache read failed", err);
    return undefined;
  }
}

/** Keeps a body for the next reader; failures are logged and swallowed (the answer never depends on it). */
export async function storeBody(key: string, body: string): Promise<void> {
  remember(key, body);
  try {
    await cacheStore()?.put(
      key,
      new Response(body, {
        headers: { "Content-Type": "application/json", "Cache-Control": `public, max-age=${STORED_SECONDS}` },
      }),
    );
  } catch (err) {
    console.warn("catalog cache write failed", err);
  }
}

// ---- the catalog list ----------------------------------------------------------------------------------------

export interface CatalogQuery {
  page: number;
  per_page: number;
  sort: (typeof CATALOG_SORTS)[number];
  kind?: (typeof CATALOG_KINDS)[number];
  category_id?: number;
  q?: string;
  cursor?: string;
}

/** The query in one canonical form (defaults applied, fixed order): part of the ETag and the cache key. */
export function normalizedCatalogQuery(query: CatalogQuery): string {
  const params = new URLSearchParams({
    kind: query.kind ?? "all",
    category_id: String(query.category_id ?? ""),
    q: query.q ?? "",
    sort: query.sort,
    page: query.cursor === undefined ? String(query.page) : "",
    per_page: String(query.per_page),
    cursor: query.cursor ?? "",
  });
  return `catalog?${params.toString()}`;
}

interface CatalogRow {
  kind: (typeof CATALOG_KINDS)[number];
  id: number;
  slug: string;
  name: string;
  summary: string | null;
  picture_url: string | null;
  published_at: string | null;
  category_ids: string | null;
  ratings_enabled: number | null;
  rating_count: number | null;
  rating_sum: number | null;
  course_count: number | null;
}

const dialect = new SQLiteAsyncDialect();

/**
 * Raw SELECTs in one D1 batch (one round trip). drizzle's `db.batch` cannot take `db.all(sql)` items with
 * parameters (drizzle-orm 0.45: SQLiteRaw has no prepared statement to bind), so they go to the binding directly.
 */
async function rawBatch(ctx: TenantContext, queries: SQL[]): Promise<unknown[][]> {
  const statements = queries.map((query) => {
    const built = dialect.sqlToQuery(query);
    return ctx.env.DB.prepare(built.sql).bind(...built.params);
  });
  const results = await ctx.env.DB.batch(statements);
  return results.map((r) => r.results);
}

/** Published, listed, not deleted courses of the tenant (the courses_tenant_catalog_idx range). */
function courseConditions(tenantId: number, query: CatalogQuery): SQL {
  return sql.join(
    [
      sql`${courses.tenantId} = ${tenantId} AND ${courses.status} = 'published' AND ${courses.showInCatalog} = 1 AND ${courses.deletedAt} IS NULL`,
      ...(query.q ? [contains(courses.name, query.q)] : []),
      // INDEXED BY: read only the category's members (the primary key would scan every row of the tenant).
      ...(query.category_id
        ? [
            sql`${courses.id} IN (SELECT course_id FROM course_categories INDEXED BY course_categories_tenant_category_idx WHERE tenant_id = ${tenantId} AND category_id = ${query.category_id})`,
          ]
        : []),
    ],
    sql` AND `,
  );
}

/** Published, listed learning paths of the tenant (the learning_paths_tenant_catalog_idx range). */
function pathConditions(tenantId: number, query: CatalogQuery): SQL {
  return sql.join(
    [
      sql`${learningPaths.tenantId} = ${tenantId} AND ${learningPaths.status} = 'published' AND ${learningPaths.showInCatalog} = 1`,
      ...(query.q ? [contains(learningPaths.name, query.q)] : []),
      ...(query.category_id
        ? [
            sql`${learningPaths.id} IN (SELECT path_id FROM learning_path_categories INDEXED BY learning_path_categories_tenant_category_idx WHERE tenant_id = ${tenantId} AND category_id = ${query.category_id})`,
          ]
        : []),
    ],
    sql` AND `,
  );
}

/**
 * ORDER BY of the merged list. Ties break on id then kind (a course and a path may share an id), which keeps
 * pages stable and lets SQLite merge the two index-ordered branches (MERGE (UNION ALL), no sort of the whole set).
 */
const ORDER: Record<CatalogQuery["sort"], SQL> = {
  "-published_at": sql`ORDER BY published_at DESC, id DESC, kind`,
  published_at: sql`ORDER BY published_at ASC, id ASC, kind`,
  name: sql`ORDER BY name ASC, kind ASC, id ASC`,
  "-name": sql`ORDER BY name DESC, kind DESC, id DESC`,
};

/** The column a sort orders by (the key a page's keys carry and a cursor holds). */
const SORT_KEY: Record<CatalogQuery["sort"], "published_at" | "name"> = {
  "-published_at": "published_at",
  published_at: "published_at",
  name: "name",
  "-name": "name",
};

/** Where a keyset page starts: just after this item of the previous page, in the query's order. */
export interface CatalogCursor {
  key: string;
  kind: (typeof CATALOG_KINDS)[number];
  id: number;
}

/** `meta.next_cursor`: the sort and the last item's key, kind and id, opaque to clients (base64url of JSON). */
export function encodeCatalogCursor(sort: CatalogQuery["sort"], cursor: CatalogCursor): string {
  const json = JSON.stringify([sort, cursor.key, cursor.kind, cursor.id]);
  return base64url(new TextEncoder().encode(json));
}

/** A cursor made by `encodeCatalogCursor` for the same sort, else a 422 naming `cursor`. */
export function decodeCatalogCursor(sort: CatalogQuery["sort"], raw: string): CatalogCursor {
  const invalid = ApiError.validation([
    { path: "query.cursor", message: "Use the `meta.next_cursor` of a previous page with the same `sort`." },
  ]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(fromBase64url(raw)));
  } catch {
    throw invalid;
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) throw invalid;
  const [cursorSort, key, kind, id] = parsed as unknown[];
  if (
    cursorSort !== sort ||
    typeof key !== "string" ||
    key.length > 1024 ||
    !CATALOG_KINDS.includes(kind as CatalogCursor["kind"]) ||
    !Number.isSafeInteger(id) ||
    (id as number) < 1
  ) {
    throw invalid;
  }
  return { key, kind: kind as CatalogCursor["kind"], id: id as number };
}

/**
 * The rows of one branch (`branch` is its kind) that come after the cursor in the query's order, as a range on
 * the branch's catalog index: `(key, id)` row values, `>=`/`<=` on the key alone for the other kind at the same
 * key when it sorts after the cursor's kind. Name sorts break ties by kind then id; date sorts by id then kind.
 */
function afterCursor(
  branch: CatalogCursor["kind"],
  sort: CatalogQuery["sort"],
  cursor: CatalogCursor,
  key: SQL,
  id: SQL,
): SQL {
  const descending = sort.startsWith("-");
  const op = sql.raw(descending ? "<" : ">");
  const opOrEqual = sql.raw(descending ? "<=" : ">=");
  if (branch === cursor.kind) return sql`(${key}, ${id}) ${op} (${cursor.key}, ${cursor.id})`;
  if (SORT_KEY[sort] === "name") {
    // Kind follows the name's direction: at an equal name, a later kind comes after any id of the cursor's kind.
    const branchLater = descending ? branch < cursor.kind : branch > cursor.kind;
    return branchLater ? sql`${key} ${opOrEqual} ${cursor.key}` : sql`${key} ${op} ${cursor.key}`;
  }
  // Dates: id breaks ties before kind (always ascending), so an equal (date, id) of a later kind comes after.
  return branch > cursor.kind
    ? sql`(${key}, ${id}) ${opOrEqual} (${cursor.key}, ${cursor.id})`
    : sql`(${key}, ${id}) ${op} (${cursor.key}, ${cursor.id})`;
}

function toCatalogItem(row: CatalogRow) {
  const categoryIds = row.category_ids ? (JSON.parse(row.category_ids) as number[]) : [];
  return {
    kind: row.kind,
    id: row.id,
    slug: row.slug,
    name: row.name,
    summary: row.summary,
    picture_url: row.picture_url,
    category_ids: categoryIds.sort((a, b) => a - b),
    rating:
      row.kind === "course" && row.ratings_enabled
        ? { average: ratingAverage(row.rating_sum ?? 0, row.rating_count ?? 0), count: row.rating_count ?? 0 }
        : null,
    course_count: row.kind === "learning_path" ? (row.course_count ?? 0) : null,
    published_at: row.published_at,
  };
}

export type CatalogItem = ReturnType<typeof toCatalogItem>;

/**
 * The three SELECTs of a catalog page (exported for the query-plan test).
 *
 * The page is a deferred join: first the keys of the page (kind, id and the sort column) from the catalog
 * indexes alone, which cover them, so rows skipped by OFFSET cost one index entry each and none of their
 * columns or category subqueries; then the columns of those few rows by primary key. With a cursor the keys
 * start right after it (an index range), so any depth costs what page 1 costs.
 */
export function catalogStatements(t: number, query: CatalogQuery, cursor?: CatalogCursor) {
  const sortKey = sql.raw(SORT_KEY[query.sort]);
  const courseAfter = cursor ? [afterCursor("course", query.sort, cursor, sql`${sortKey}`, sql`id`)] : [];
  const pathAfter = cursor ? [afterCursor("learning_path", query.sort, cursor, sql`${sortKey}`, sql`id`)] : [];
  const courseKeys = sql`SELECT 'course' AS kind, id, ${sortKey} FROM ${courses} WHERE ${sql.join([courseConditions(t, query), ...courseAfter], sql` AND `)}`;
  const pathKeys = sql`SELECT 'learning_path' AS kind, id, ${sortKey} FROM ${learningPaths} WHERE ${sql.join([pathConditions(t, query), ...pathAfter], sql` AND `)}`;
  const wantCourses = query.kind !== "learning_path";
  const wantPaths = query.kind !== "course";
  const keys =
    wantCourses && wantPaths ? sql`${courseKeys} UNION ALL ${pathKeys}` : wantCourses ? courseKeys : pathKeys;
  const offset = cursor ? 0 : (query.page - 1) * query.per_page;
  const courseRows = sql`SELECT 'course' AS kind, c.id AS id, c.slug AS slug, c.name AS name, c.subtitle AS summary,
    c.picture_url AS picture_url, c.published_at AS published_at,
    (SELECT json_group_array(category_id) FROM course_categories WHERE tenant_id = ${t} AND course_id = c.id) AS category_ids,
    c.ratings_enabled AS ratings_enabled, c.rating_count AS rating_count, c.rating_sum AS rating_sum, NULL AS course_count
    FROM page_keys CROSS JOIN ${courses} c ON c.id = page_keys.id AND c.tenant_id = ${t} WHERE page_keys.kind = 'course'`;
  const pathRows = sql`SELECT 'learning_path' AS kind, l.id AS id, l.slug AS slug, l.name AS name, substr(l.description, 1, 300) AS summary,
    l.picture_url AS picture_url, l.published_at AS published_at,
    (SELECT json_group_array(category_id) FROM learning_path_categories WHERE tenant_id = ${t} AND path_id = l.id) AS category_ids,
    NULL AS ratings_enabled, NULL AS rating_count, NULL AS rating_sum,
    (SELECT count(*) FROM learning_path_steps s JOIN courses sc ON sc.id = s.course_id AND sc.tenant_id = ${t}
      WHERE s.tenant_id = ${t} AND s.path_id = l.id AND sc.status = 'published' AND sc.deleted_at IS NULL) AS course_count
    FROM page_keys CROSS JOIN ${learningPaths} l ON l.id = page_keys.id AND l.tenant_id = ${t} WHERE page_keys.kind = 'learning_path'`;
  const rows =
    wantCourses && wantPaths ? sql`${courseRows} UNION ALL ${pathRows}` : wantCourses ? courseRows : pathRows;
  const pageKeys = sql`${keys} ${ORDER[query.sort]} LIMIT ${query.per_page + 1} OFFSET ${offset}`;
  // CROSS JOIN keeps page_keys (at most per_page + 1 rows) the outer loop: each row found by primary key.
  return {
    keys: pageKeys,
    page: sql`WITH page_keys AS MATERIALIZED (${pageKeys}) ${rows} ${ORDER[query.sort]}`,
    courseTotal: wantCourses
      ? sql`SELECT count(*) AS n FROM ${courses} WHERE ${courseConditions(t, query)}`
      : sql`SELECT 0 AS n`,
    pathTotal: wantPaths
      ? sql`SELECT count(*) AS n FROM ${learningPaths} WHERE ${pathConditions(t, query)}`
      : sql`SELECT 0 AS n`,
  };
}

/** The filters of a catalog query (what its total depends on): the key of the cached total, shared by every page. */
export function normalizedCatalogFilters(query: CatalogQuery): string {
  const params = new URLSearchParams({
    kind: query.kind ?? "all",
    category_id: String(query.category_id ?? ""),
    q: query.q ?? "",
  });
  return `catalog-total?${params.toString()}`;
}

/**
 * One page of the public catalog: courses and learning paths merged in one order (`kind` keeps one of them).
 * One D1 batch: the page (a UNION ALL of two index range scans) and the two totals. The totals count every
 * listed row of the tenant (a 100k-course catalog: ~100k index entries per page), so with `catalogVersion` they
 * are kept in the Cache API under that version (any catalog change moves to a new key) and a later page of the
 * same filters runs the page statement alone.
 */
export async function catalogPage(
  ctx: TenantContext,
  query: CatalogQuery,
  catalogVersion?: number,
): Promise<CatalogPageResult> {
  const cursor = query.cursor === undefined ? undefined : decodeCatalogCursor(query.sort, query.cursor);
  const statements = catalogStatements(ctx.tenantId, query, cursor);
  const totalSlot =
    catalogVersion === undefined
      ? undefined
      : cacheSlot(ctx.tenantId, [catalogVersion], normalizedCatalogFilters(query));
  const cachedTotal = totalSlot ? Number(await cachedBody(totalSlot.key)) : Number.NaN;
  let rows: CatalogRow[];
  let total: number;
  if (Number.isInteger(cachedTotal) && cachedTotal >= 0) {
    [rows] = (await rawBatch(ctx, [statements.page])) as [CatalogRow[]];
    total = cachedTotal;
  } else {
    const [page, courseTotal, pathTotal] = await rawBatch(ctx, [
      statements.page,
      statements.courseTotal,
      statements.pathTotal,
    ]);
    rows = page as CatalogRow[];
    total = ((courseTotal as { n: number }[])[0]?.n ?? 0) + ((pathTotal as { n: number }[])[0]?.n ?? 0);
    if (totalSlot) ctx.defer(storeBody(totalSlot.key, String(total)));
  }
  // One row more than the page was read: it says whether a next page exists.
  const pageRows = rows.slice(0, query.per_page);
  const last = pageRows[pageRows.length - 1];
  const key = SORT_KEY[query.sort];
  return {
    data: pageRows.map(toCatalogItem),
    meta: {
      page: cursor ? null : query.page,
      per_page: query.per_page,
      total,
      last_page: Math.max(1, Math.ceil(total / query.per_page)),
      next_cursor:
        rows.length > query.per_page && last
          ? encodeCatalogCursor(query.sort, { key: String(last[key] ?? ""), kind: last.kind, id: last.id })
          : null,
    },
  };
}

export interface CatalogPageResult {
  data: CatalogItem[];
  meta: { page: number | null; per_page: number; total: number; last_page: number; next_cursor: string | null };
}

// ---- one course ------------------------------------------------------------------------------------------------

/** What decides whether a course is visible and which version of it is current (no long text columns). */
const gateColumns = {
  id: courses.id,
  version: courses.version,
  status: courses.status,
  showInCatalog: courses.showInCatalog,
  deletedAt: courses.deletedAt,
};

/**
 * The id and version of a course anyone may see (published, listed in the catalog, not deleted), else 404
 * (never saying which). One indexed point read: all a 304 or a cache hit costs beyond the tenant.
 */
export async function findPublicCourse(ctx: TenantContext, slug: string) {
  const [row] = await ctx.db
    .select(gateColumns)
    .from(courses)
    .where(and(eq(courses.tenantId, ctx.tenantId), eq(courses.slug, slug)))
    .limit(1);
  // Hidden from the catalog means unlisted, not secret: a direct link works (as for learning paths).
  if (row?.status !== "published" || row.deletedAt) {
    throw ApiError.notFound(`Course "${slug}"`);
  }
  return { id: row.id, version: row.version };
}

/** The full row of a course found visible a moment ago (404 if it went away in between). */
function fullRowQuery(ctx: TenantContext, courseId: number) {
  return ctx.db
    .select()
    .from(courses)
    .where(and(eq(courses.tenantId, ctx.tenantId), eq(courses.id, courseId), isNull(courses.deletedAt)))
    .limit(1);
}

function landingFields(row: CourseRow) {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    subtitle: row.subtitle,
    description: row.description,
    picture_url: row.pictureUrl,
    thumbnail_url: row.thumbnailUrl,
    logo_url: row.logoUrl,
    landing_page_url: row.landingPageUrl,
    seo: { title: row.seoTitle, description: row.seoDescription, keywords: row.seoKeywords },
    estimated_minutes: row.estimatedMinutes,
    duration: { rule: row.durationRule, access_days: row.accessDays, access_until: row.accessUntil },
    sequential_navigation: row.sequentialNavigation,
    drip_enabled: row.dripEnabled,
    published_at: row.publishedAt,
  };
}

const drip = (p: OutlineData["sections"][number]["placements"][number]) => ({
  rule: p.drip_rule,
  days: p.drip_days,
  date: p.drip_date,
});

const moduleCount = (outline: OutlineData) => outline.sections.reduce((n, s) => n + s.placements.length, 0);

/** The outline with nothing protected: no module settings (content, urls, answer keys), no module descriptions. */
function publicSections(outline: OutlineData) {
  return outline.sections.map((s) => ({
    id: s.id,
    name: s.name,
    description: s.description,
    position: s.position,
    release_at: s.release_at,
    placements: s.placements.map((p) => ({
      id: p.id,
      position: p.position,
      required: p.required,
      drip: drip(p),
      module: {
        id: p.module.id,
        type: p.module.type as never,
        name: p.module.name,
        estimated_minutes: p.module.estimated_minutes,
      },
    })),
  }));
}

/** The course row, its instructors (public profile only: never an email) and its categories, in one batch. */
async function courseWithRelations(ctx: TenantContext, courseId: number) {
  const [[row], instructors, cats] = await ctx.db.batch([
    fullRowQuery(ctx, courseId),
    ctx.db
      .select({
        id: users.id,
        name: users.name,
        headline: users.headline,
        bio: users.bio,
        picture_url: users.pictureSrc,
      })
      .from(courseInstructors)
      .innerJoin(
        users,
        and(
          eq(users.id, courseInstructors.userId),
          eq(users.tenantId, ctx.tenantId),
          eq(users.kind, "staff"),
          eq(users.status, "active"),
        ),
      )
      .where(and(eq(courseInstructors.tenantId, ctx.tenantId), eq(courseInstructors.courseId, courseId)))
      .orderBy(asc(courseInstructors.position), asc(users.id)),
    ctx.db
      .select({ id: categories.id, name: categories.name, slug: categories.slug })
      .from(courseCategories)
      .innerJoin(categories, and(eq(categories.id, courseCategories.categoryId), eq(categories.tenantId, ctx.tenantId)))
      .where(and(eq(courseCategories.tenantId, ctx.tenantId), eq(courseCategories.courseId, courseId)))
      .orderBy(asc(categories.position), asc(categories.name), asc(categories.id)),
  ]);
  if (!row) throw ApiError.notFound(`Course ${courseId}`);
  return { row, instructors, categories: cats };
}

/**
 * The landing page of a public course: what it is, who teaches it, its rating, and its outline without content.
 * Three reads in parallel: the outline (one batch), the course with its people and categories (one batch) and
 * the star distribution.
 */
export async function publicCourse(ctx: TenantContext, courseId: number) {
  const [outline, { row, instructors, categories: cats }, distribution] = await Promise.all([
    courseOutline(ctx, courseId),
    courseWithRelations(ctx, courseId),
    ratingDistribution(ctx, courseId),
  ]);
  return {
    ...landingFields(row),
    instructors,
    categories: cats,
    rating: row.ratingsEnabled
      ? { average: ratingAverage(row.ratingSum, row.ratingCount), count: row.ratingCount, distribution }
      : null,
    module_count: moduleCount(outline),
    sections: publicSections(outline),
  };
}

/** `column IN (ids)` with one bound parameter whatever the number of ids (D1 allows 100 per statement). */
const inJson = (column: SQLiteColumn, ids: number[]) =>
  sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`;

// ---- one learning path -----------------------------------------------------------------------------------------

/**
 * The landing page of a published learning path (404 otherwise): the learning-paths service's public view (its
 * published courses in order), with each course's subtitle and picture and the categories' names added.
 */
export async function publicPath(ctx: TenantContext, slug: string) {
  const path = await getPublishedPathBySlug(ctx, slug);
  const courseIds = path.steps.map((s) => s.course_id);
  const [courseRows, cats] = await ctx.db.batch([
    ctx.db
      .select({
        id: courses.id,
        subtitle: courses.subtitle,
        pictureUrl: courses.pictureUrl,
        showInCatalog: courses.showInCatalog,
      })
      .from(courses)
      .where(and(eq(courses.tenantId, ctx.tenantId), inJson(courses.id, courseIds))),
    ctx.db
      .select({ id: categories.id, name: categories.name, slug: categories.slug })
      .from(categories)
      .where(and(eq(categories.tenantId, ctx.tenantId), inJson(categories.id, path.category_ids)))
      .orderBy(asc(categories.position), asc(categories.name), asc(categories.id)),
  ]);
  const byId = new Map(courseRows.map((r) => [r.id, r]));
  return {
    id: path.id,
    slug: path.slug,
    name: path.name,
    description: path.description,
    picture_url: path.picture_url,
    categories: cats,
    course_count: path.course_count,
    steps: path.steps.map((s) => ({
      id: s.id,
      position: s.position,
      required: s.required,
      prerequisite_step_ids: s.prerequisite_step_ids,
      course: {
        id: s.course_id,
        slug: s.course_slug,
        name: s.course_name,
        subtitle: byId.get(s.course_id)?.subtitle ?? null,
        picture_url: byId.get(s.course_id)?.pictureUrl ?? null,
        listed: byId.get(s.course_id)?.showInCatalog ?? false,
      },
    })),
    published_at: path.published_at,
  };
}

// ---- the signed-in learner's view of a course ----------------------------------------------------------------

/**
 * A published, not deleted course of the learner's academy (listed in the catalog or not) with the tenant's
 * catalog version, in one batch; else 404.
 */
export async function findLearnerCourse(ctx: TenantContext<LearnerPrincipal>, courseId: number) {
  const [[row], [tenant]] = await ctx.db.batch([
    ctx.db
      .select(gateColumns)
      .from(courses)
      .where(and(eq(courses.tenantId, ctx.tenantId), eq(courses.id, courseId), isNull(courses.deletedAt)))
      .limit(1),
    ctx.db.select({ catalogVersion: tenants.catalogVersion }).from(tenants).where(eq(tenants.id, ctx.tenantId)),
  ]);
  if (row?.status !== "published") throw ApiError.notFound(`Course ${courseId}`);
  return { id: row.id, version: row.version, catalogVersion: tenant?.catalogVersion ?? 0 };
}

/**
 * The course outline for a learner: sections and placements with the module's name, type, time, points and
 * prerequisites; never module settings (content, urls, answer keys). `progress` and `locked` are placeholders
 * that enrollments and progress fill in later.
 */
export async function learnerCourse(ctx: TenantContext, courseId: number) {
  const [outline, [row]] = await Promise.all([courseOutline(ctx, courseId), fullRowQuery(ctx, courseId)]);
  if (!row) throw ApiError.notFound(`Course ${courseId}`);
  return {
    ...landingFields(row),
    ratings_enabled: row.ratingsEnabled,
    rating: row.ratingsEnabled
      ? { average: ratingAverage(row.ratingSum, row.ratingCount), count: row.ratingCount }
      : null,
    version: row.version,
    module_count: moduleCount(outline),
    sections: outline.sections.map((s) => ({
      id: s.id,
      name: s.name,
      description: s.description,
      position: s.position,
      release_at: s.release_at,
      placements: s.placements.map((p) => ({
        id: p.id,
        module_id: p.module_id,
        position: p.position,
        required: p.required,
        drip: drip(p),
        prerequisite_ids: p.prerequisite_ids,
        module: {
          id: p.module.id,
          type: p.module.type as never,
          name: p.module.name,
          slug: p.module.slug,
          description: p.module.description,
          estimated_minutes: p.module.estimated_minutes,
          points: p.module.points,
        },
        progress: null,
        locked: false,
      })),
    })),
  };
}
