import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { migrateDatabase } from "@/lib/migrate";

export function databaseUrlFor(baseUrl: string, database: string): string {
  const url = new URL(baseUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export function adminClient(baseUrl: string) {
  return postgres(baseUrl, { max: 1, onnotice: () => undefined });
}

/** A freshly migrated database that every test database is cloned from (CREATE DATABASE ... TEMPLATE). */
export async function prepareTemplateDatabase(baseUrl: string): Promise<string> {
  const name = `idem_tpl_${process.pid}_${randomBytes(3).toString("hex")}`;
  const admin = adminClient(baseUrl);
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  await migrateDatabase(databaseUrlFor(baseUrl, name));
  return name;
}

export async function cloneDatabase(baseUrl: string, template: string, prefix = "idem_t"): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const admin = adminClient(baseUrl);
  try {
    await admin.unsafe(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  } finally {
    await admin.end();
  }
  return name;
}

export async function dropDatabase(baseUrl: string, name: string): Promise<void> {
  const admin = adminClient(baseUrl);
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
