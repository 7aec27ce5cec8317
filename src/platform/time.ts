/** Timestamps are ISO 8601 UTC strings everywhere (DESIGN.md section 4). */
export function nowIso(): string {
  return new Date().toISOString();
}

export function addSeconds(iso: string, seconds: number): string {
  return new Date(Date.parse(iso) + seconds * 1000).toISOString();
}
