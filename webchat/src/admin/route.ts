/** The admin section's routes (kept apart from AdminApp so the chat bundle does not pull the section in). */
export type AdminPage = "dashboard" | "gaps" | "ab" | "captured" | "escalations";

/** ``#/admin``, ``#/admin/gaps``, ``#/admin/ab``, ``#/admin/captured``, ``#/admin/escalations`` → the page;
 * anything else is not the admin section. */
export function adminPage(hash: string): AdminPage | null {
  const m = /^#\/admin(?:\/(gaps|ab|captured|escalations))?\/?$/.exec(hash);
  if (!m) return null;
  return (m[1] as AdminPage | undefined) ?? "dashboard";
}

export const pageHash = (p: AdminPage) => (p === "dashboard" ? "#/admin" : `#/admin/${p}`);
