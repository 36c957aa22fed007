import { readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { jsonSchemaOf, openApiDocument } from "./openapi";

/**
 * The OpenAPI document against the routes themselves: every documented operation is a route whose
 * query parameters are exactly its schema's keys, whose request body is generated from the schema it
 * validates with, and whose documented examples that schema accepts. A route added, a parameter
 * renamed or a body tightened without the document following fails here.
 */
type Spec = {
  parameters?: Array<{ name: string; in: string; schema: { enum?: string[] } }>;
  requestBody?: { content: { "application/json": { schema: unknown; examples: Record<string, { value: unknown }> } } };
};
type Routed = ((...args: never[]) => unknown) & { config?: { query?: z.ZodType; body?: z.ZodType } };

const root = path.resolve(import.meta.dirname, "../..");
const doc = openApiDocument("/");
const fileOf = (apiPath: string) => path.join(root, "app", apiPath.replace(/\{(\w+)\}/g, "[$1]"), "route.ts");

const operations = Object.entries(doc.paths).flatMap(([apiPath, methods]) =>
  Object.entries(methods as Record<string, Spec>).map(([method, spec]) => ({ apiPath, method: method.toUpperCase(), spec })),
);

async function routeHandler(apiPath: string, method: string): Promise<Routed> {
  const module = (await import(fileOf(apiPath))) as Record<string, Routed>;
  const handler = module[method];
  if (!handler?.config) throw new Error(`${apiPath} has no ${method} built with apiRoute`);
  return handler;
}

const shapeKeys = (schema: z.ZodType | undefined) => Object.keys((schema as unknown as { shape?: Record<string, unknown> } | undefined)?.shape ?? {});

describe("openapi.json", () => {
  it("documents every route file under app/api/v1", () => {
    const onDisk: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(path.join(dir, entry.name));
        else if (entry.name === "route.ts") onDisk.push(`/${path.relative(path.join(root, "app"), dir).split(path.sep).join("/")}`.replace(/\[(\w+)\]/g, "{$1}"));
      }
    };
    walk(path.join(root, "app/api/v1"));
    const undocumented = onDisk.filter((p) => p !== "/api/v1/openapi.json" && !p.includes("[...") && !(p in doc.paths));
    expect(undocumented).toEqual([]);
  });

  it.each(operations)("$method $apiPath: query parameters are the route schema's keys, and every documented enum value is accepted", async ({ apiPath, method, spec }) => {
    const handler = await routeHandler(apiPath, method);
    const documented = (spec.parameters ?? []).filter((p) => p.in === "query");
    expect(documented.map((p) => p.name)).toEqual(shapeKeys(handler.config?.query));
    for (const parameter of documented) {
      for (const value of parameter.schema.enum ?? []) {
        const parsed = handler.config!.query!.safeParse({ [parameter.name]: value });
        expect(parsed.success, `${parameter.name}=${value}`).toBe(true);
      }
    }
  });

  it.each(operations)("$method $apiPath: the request body is generated from the schema the route validates with, and its examples pass it", async ({ apiPath, method, spec }) => {
    const handler = await routeHandler(apiPath, method);
    const body = handler.config?.body;
    if (!body) {
      expect(spec.requestBody).toBeUndefined();
      return;
    }
    const content = spec.requestBody!.content["application/json"];
    expect(content.schema).toEqual(jsonSchemaOf(body));
    expect(Object.keys(content.examples).length).toBeGreaterThan(0);
    for (const [name, example] of Object.entries(content.examples)) {
      const parsed = body.safeParse(example.value);
      expect(parsed.success, `${name}: ${parsed.success ? "" : JSON.stringify(parsed.error.issues)}`).toBe(true);
    }
  });

  it("a body the document calls invalid is refused by the route's schema, naming the field", async () => {
    const cancel = (await routeHandler("/api/v1/runs/{id}/cancel", "POST")).config!.body!;
    const documented = jsonSchemaOf(cancel) as { properties: { reason: { minLength?: number } } };
    expect(documented.properties.reason.minLength).toBe(1);
    const refused = cancel.safeParse({ reason: "" });
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.path).toEqual(["reason"]);

    const retry = (await routeHandler("/api/v1/runs/{id}/retry", "POST")).config!.body!;
    const bogus = retry.safeParse({ seenStatus: "bogus", seenUpdatedAt: "2026-01-31T12:00:00Z", seenRetries: 0 });
    expect(bogus.error?.issues[0]?.path).toEqual(["seenStatus"]);
    expect(bogus.error?.issues[0]?.message).not.toMatch(/reload the page/);

    const release = (await routeHandler("/api/v1/locks/release", "POST")).config!.body!;
    expect(release.safeParse({ key: "k", value: "v", class: "sticky" }).error?.issues[0]?.path).toEqual(["class"]);
  });
});
