/** Admin UI users of a site: who may log in, with which role. Passwords are stored as PBKDF2 hashes. */
import { z } from "@hono/zod-openapi";
import { and, asc, eq, sql } from "drizzle-orm";
import type { SQLiteUpdateSetSource } from "drizzle-orm/sqlite-core";
import { hashPassword } from "../auth/password";
import { adminUsers } from "../db/schema";
import type { Db } from "../env";
import { apiError } from "../errors";

const RoleSchema = z.enum(["admin", "marketer", "viewer"]);

export const UserInputSchema = z
  .object({
    email: z.email().max(254),
    password: z.string().min(10, "at least 10 characters").max(200),
    role: RoleSchema,
  })
  .strict();

export const UserPatchSchema = z
  .object({ role: RoleSchema, password: z.string().min(10, "at least 10 characters").max(200) })
  .partial()
  .strict();

export const UserSchema = z
  .object({
    id: z.number(),
    email: z.string(),
    role: RoleSchema,
    created_at: z.number(),
    locked_until: z
      .number()
      .nullable()
      .openapi({ description: "Always null: logins now lock per (e-mail, client IP), never the account" }),
  })
  .openapi("AdminUser");

type UserRow = typeof adminUsers.$inferSelect;

export function userToJson(row: UserRow): z.infer<typeof UserSchema> {
  return { id: row.id, email: row.email, role: row.role, created_at: row.createdAt, locked_until: row.lockedUntil };
}

export function listUsers(db: Db, siteId: number) {
  return db.select().from(adminUsers).where(eq(adminUsers.siteId, siteId)).orderBy(asc(adminUsers.id));
}

export async function createUser(db: Db, siteId: number, input: z.infer<typeof UserInputSchema>) {
  const [row] = await db
    .insert(adminUsers)
    .values({
      siteId,
      email: input.email.trim().toLowerCase(),
      passwordHash: await hashPassword(input.password),
      role: input.role,
    })
    .onConflictDoNothing()
    .returning();
  // Unique per site only: an e-mail that is a user of another site is no conflict here (nothing
  // about other tenants shows through), and 409 can only name this site's own users.
  if (!row) throw apiError(409, "user_exists", `This site has a user with e-mail ${input.email} already`);
  return row;
}

/** Changing one's own role is refused: the last admin could otherwise lock everyone out. */
export async function updateUser(
  db: Db,
  siteId: number,
  id: number,
  patch: z.infer<typeof UserPatchSchema>,
  actingUserId?: number,
) {
  if (patch.role !== undefined && id === actingUserId) {
    throw apiError(409, "own_role", "You cannot change your own role; ask another admin");
  }
  const set: SQLiteUpdateSetSource<typeof adminUsers> = {};
  if (patch.role) set.role = patch.role;
  if (patch.password) set.passwordHash = await hashPassword(patch.password);
  // A new password or role ends the user's open sessions: a stolen cookie must not outlive the
  // password it was won with, and a demoted user must not keep the old role's session.
  if (Object.keys(set).length > 0) set.sessionVersion = sql`${adminUsers.sessionVersion} + 1`;
  const where = and(eq(adminUsers.siteId, siteId), eq(adminUsers.id, id));
  const [row] =
    Object.keys(set).length > 0
      ? await db.update(adminUsers).set(set).where(where).returning()
      : await db.select().from(adminUsers).where(where);
  if (!row) throw apiError(404, "not_found", `No user ${id} in this site`);
  return row;
}

export async function deleteUser(db: Db, siteId: number, id: number, actingUserId?: number) {
  if (id === actingUserId) throw apiError(409, "own_account", "You cannot delete your own account");
  const [[row], [admins]] = await Promise.all([
    db
      .select({ role: adminUsers.role })
      .from(adminUsers)
      .where(and(eq(adminUsers.siteId, siteId), eq(adminUsers.id, id))),
    db
      .select({ n: sql<number>`count(*)` })
      .from(adminUsers)
      .where(and(eq(adminUsers.siteId, siteId), eq(adminUsers.role, "admin"))),
  ]);
  if (!row) throw apiError(404, "not_found", `No user ${id} in this site`);
  // A site without any admin could never manage users or keys again.
  if (row.role === "admin" && admins.n <= 1) throw apiError(409, "last_admin", "This is the site's last admin");
  await db.delete(adminUsers).where(and(eq(adminUsers.siteId, siteId), eq(adminUsers.id, id)));
}
