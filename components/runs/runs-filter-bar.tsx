"use client";

import { usePathname, useRouter } from "next/navigation";
import type { Route } from "next";
import Link from "next/link";
import { useEffect, useId, useRef, type FormEvent } from "react";
import { Button, ButtonLink } from "@/components/ui/button";
import { Field, Input, Select } from "@/components/ui/form";
import { hrefWith } from "@/lib/url";

export interface RunsFilterValues {
  q?: string;
  status?: string;
  task?: string;
  key?: string;
  keyMatch?: string;
  worker?: string;
  from?: string;
  to?: string;
  dups?: string;
  retry?: string;
  sort?: string;
  order?: string;
  pageSize?: string;
}

const statusOptions = [
  ["", "Any status"],
  ["pending", "pending"],
  ["running", "running"],
  ["stuck", "running · lease expired"],
  ["succeeded", "succeeded"],
  ["failed", "failed"],
  ["cancelled", "cancelled"],
] as const;

const presets = ["15m", "1h", "24h", "7d", "30d"] as const;

const fieldNames = ["q", "status", "task", "key", "keyMatch", "worker", "from", "to", "dups", "retry", "sort", "order", "pageSize"] as const;
const defaults: Record<string, string> = { keyMatch: "exact", sort: "created", order: "desc", pageSize: "50" };

/** The filters as they go in the URL: trimmed, blanks and defaults left out (a new filter starts on page one). */
function withoutDefaults(params: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(params)) {
    const value = raw?.trim();
    if (value && defaults[name] !== value) out[name] = value;
  }
  if (!out.key) delete out.keyMatch;
  return out;
}

/**
 * The runs list's filters, as a GET form (it works without JavaScript). With JavaScript, submitting
 * navigates to a clean URL: empty fields and the page cursor are dropped, since a new filter starts
 * from the first page.
 */
export function RunsFilterBar({ values, taskNames }: { values: RunsFilterValues; taskNames: string[] }) {
  const router = useRouter();
  const pathname = usePathname();
  const id = useId();
  const field = (name: string) => `${id}-${name}`;
  const formRef = useRef<HTMLFormElement>(null);
  const current = JSON.stringify(values);
  // The URL is the truth: when it changes (Apply, a preset, a removed chip, Back), the uncontrolled
  // inputs are set to what it now says. Not on mount: the server rendered them from this URL, and
  // what someone typed or chose before hydration finished must not be wiped.
  const synced = useRef(current);
  useEffect(() => {
    const form = formRef.current;
    if (!form || synced.current === current) return;
    synced.current = current;
    const shown: Record<string, string> = { ...defaults, ...(JSON.parse(current) as Record<string, string>) };
    for (const name of fieldNames) {
      const element = form.elements.namedItem(name);
      if (element instanceof HTMLInputElement && element.type === "checkbox") element.checked = shown[name] === "1";
      else if (element instanceof HTMLInputElement || element instanceof HTMLSelectElement) element.value = shown[name] ?? "";
    }
  }, [current]);

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const params: Record<string, string> = {};
    for (const [name, value] of data.entries()) {
      if (typeof value === "string") params[name] = value;
    }
    router.push(hrefWith(pathname, withoutDefaults(params)) as Route);
  };

  const withRange = (from: string) => hrefWith(pathname, withoutDefaults({ ...values, from, to: undefined })) as Route;

  return (
    <form
      ref={formRef}
      method="get"
      action={pathname}
      onSubmit={onSubmit}
      role="search"
      aria-label="Filter runs"
      className="mb-4 rounded-lg border border-zinc-200 bg-white p-4 shadow-xs"
    >
      <div className="grid grid-cols-1 gap-3 md:grid-cols-2 xl:grid-cols-6">
        <Field label="Search run id or key" htmlFor={field("q")} className="xl:col-span-2">
          <Input id={field("q")} name="q" type="search" defaultValue={values.q} placeholder="e.g. 1042 or invoice-2026-001" maxLength={512} />
        </Field>
        <div className="flex gap-2 xl:col-span-2">
          <Field label="Key" htmlFor={field("key")} className="min-w-0 flex-1">
            <Input id={field("key")} name="key" defaultValue={values.key} placeholder="idempotency key" maxLength={512} autoComplete="off" />
          </Field>
          <Field label="Key match" htmlFor={field("keyMatch")} className="w-32 shrink-0">
            <Select id={field("keyMatch")} name="keyMatch" defaultValue={values.keyMatch ?? "exact"}>
              <option value="exact">exact</option>
              <option value="prefix">starts with</option>
            </Select>
          </Field>
        </div>
        <Field label="Status" htmlFor={field("status")}>
          <Select id={field("status")} name="status" defaultValue={values.status ?? ""}>
            {statusOptions.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </Select>
        </Field>
        <Field label="Task" htmlFor={field("task")}>
          <Input id={field("task")} name="task" list={field("tasks")} defaultValue={values.task} placeholder="any task" maxLength={200} autoComplete="off" />
          <datalist id={field("tasks")}>
            {taskNames.map((name) => (
              <option key={name} value={name} />
            ))}
          </datalist>
        </Field>
      </div>

      <div className="mt-3 grid grid-cols-1 gap-3 md:grid-cols-3 xl:grid-cols-6">
        <Field label="Worker" htmlFor={field("worker")}>
          <Input id={field("worker")} name="worker" defaultValue={values.worker} placeholder="lease owner" maxLength={200} autoComplete="off" />
        </Field>
        <Field label={values.sort === "finished" ? "Finished from" : "Created from"} htmlFor={field("from")}>
          <Input id={field("from")} name="from" defaultValue={values.from} placeholder="24h, 7d or 2026-01-31T12:00Z" maxLength={40} autoComplete="off" />
        </Field>
        <Field label={values.sort === "finished" ? "Finished before" : "Created before"} htmlFor={field("to")}>
          <Input id={field("to")} name="to" defaultValue={values.to} placeholder="now" maxLength={40} autoComplete="off" />
        </Field>
        <Field label="Sort by" htmlFor={field("sort")}>
          <Select id={field("sort")} name="sort" defaultValue={values.sort ?? "created"}>
            <option value="created">Created</option>
            <option value="finished">Finished (finished runs only)</option>
          </Select>
        </Field>
        <Field label="Order" htmlFor={field("order")}>
          <Select id={field("order")} name="order" defaultValue={values.order ?? "desc"}>
            <option value="desc">Newest first</option>
            <option value="asc">Oldest first</option>
          </Select>
        </Field>
        <Field label="Page size" htmlFor={field("pageSize")}>
          <Select id={field("pageSize")} name="pageSize" defaultValue={values.pageSize ?? "50"}>
            {["25", "50", "100", "200"].map((size) => (
              <option key={size} value={size}>
                {size} per page
              </option>
            ))}
          </Select>
        </Field>
      </div>

      <div className="mt-4 flex flex-wrap items-center justify-between gap-3">
        <fieldset className="flex flex-wrap items-center gap-4">
          <legend className="sr-only">Only runs that</legend>
          <label className="flex items-center gap-2 text-sm text-zinc-700">
            <input type="checkbox" name="dups" value="1" defaultChecked={values.dups === "1"} className="h-4 w-4 rounded border-zinc-300" />
            Has duplicates
          </label>
          <label className="flex items-center gap-2 text-sm text-zinc-700">
            <input type="checkbox" name="retry" value="1" defaultChecked={values.retry === "1"} className="h-4 w-4 rounded border-zinc-300" />
            Is a retry
          </label>
        </fieldset>
        <div className="flex flex-wrap items-center gap-1.5 text-xs text-zinc-500">
          <span>{values.sort === "finished" ? "Finished in the last" : "Created in the last"}</span>
          {presets.map((preset) => (
            <Link
              key={preset}
              href={withRange(preset)}
              aria-label={`Last ${preset}`}
              aria-current={values.from === preset && !values.to ? "true" : undefined}
              className="rounded-full px-2 py-0.5 font-medium ring-1 ring-zinc-300 ring-inset hover:bg-zinc-100 aria-[current=true]:bg-zinc-900 aria-[current=true]:text-white aria-[current=true]:ring-zinc-900"
            >
              {preset}
            </Link>
          ))}
        </div>
        <div className="flex gap-2">
          <ButtonLink href={pathname as Route} variant="ghost">
            Clear filters
          </ButtonLink>
          <Button type="submit" variant="primary">
            Apply filters
          </Button>
        </div>
      </div>
    </form>
  );
}
