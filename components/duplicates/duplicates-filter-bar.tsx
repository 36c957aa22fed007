"use client";

import type { Route } from "next";
import { usePathname, useRouter } from "next/navigation";
import { useId, type FormEvent } from "react";
import { Button, ButtonLink } from "@/components/ui/button";
import { Field, Input, Select } from "@/components/ui/form";
import { outcomeLabels, outcomeOrder } from "@/components/overview/palette";
import { hrefWith } from "@/lib/url";

export interface DuplicatesFilterValues {
  view?: string;
  outcome?: string;
  task?: string;
  source?: string;
  worker?: string;
  run?: string;
  from?: string;
  to?: string;
}

/**
 * The duplicates screen's filters as a GET form (it works without JavaScript). With JavaScript,
 * submitting drops empty fields and the page cursor, since a new filter starts from the newest attempt.
 */
export function DuplicatesFilterBar({ values, tasks, sources }: { values: DuplicatesFilterValues; tasks: string[]; sources: string[] }) {
  const router = useRouter();
  const pathname = usePathname();
  const id = useId();
  const field = (name: string) => `${id}-${name}`;

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const params: Record<string, string> = {};
    for (const [name, value] of new FormData(event.currentTarget).entries()) {
      if (typeof value === "string" && value.trim() !== "") params[name] = value.trim();
    }
    if (params.view === "list") delete params.view;
    router.push(hrefWith(pathname, params) as Route);
  };

  return (
    <form
      method="get"
      action={pathname}
      onSubmit={onSubmit}
      role="search"
      aria-label="Filter duplicate attempts"
      className="mb-4 rounded-lg border border-zinc-200 bg-white p-4 shadow-xs"
    >
      {values.view && values.view !== "list" && <input type="hidden" name="view" value={values.view} />}
      {values.run && <input type="hidden" name="run" value={values.run} />}
      <div className="grid grid-cols-1 gap-3 md:grid-cols-3 xl:grid-cols-6">
        <Field label="Outcome" htmlFor={field("outcome")}>
          <Select id={field("outcome")} name="outcome" defaultValue={values.outcome ?? ""}>
            <option value="">Any outcome</option>
            {outcomeOrder.map((outcome) => (
              <option key={outcome} value={outcome}>
                {outcomeLabels[outcome]}
              </option>
            ))}
          </Select>
        </Field>
        <Field label="Task" htmlFor={field("task")}>
          <Input id={field("task")} name="task" list={field("tasks")} defaultValue={values.task} placeholder="any task" maxLength={200} autoComplete="off" />
          <datalist id={field("tasks")}>
            {tasks.map((name) => (
              <option key={name} value={name} />
            ))}
          </datalist>
        </Field>
        <Field label="Source" htmlFor={field("source")}>
          <Input id={field("source")} name="source" list={field("sources")} defaultValue={values.source} placeholder="any source" maxLength={100} autoComplete="off" />
          <datalist id={field("sources")}>
            {sources.map((name) => (
              <option key={name} value={name} />
            ))}
          </datalist>
        </Field>
        <Field label="Worker" htmlFor={field("worker")}>
          <Input id={field("worker")} name="worker" defaultValue={values.worker} placeholder="worker id" maxLength={200} autoComplete="off" />
        </Field>
        <Field label="Attempted from" htmlFor={field("from")}>
          <Input id={field("from")} name="from" defaultValue={values.from} placeholder="24h, 7d or 2026-01-31T12:00Z" maxLength={40} autoComplete="off" />
        </Field>
        <Field label="Attempted before" htmlFor={field("to")}>
          <Input id={field("to")} name="to" defaultValue={values.to} placeholder="now" maxLength={40} autoComplete="off" />
        </Field>
      </div>
      <div className="mt-4 flex justify-end gap-2">
        <ButtonLink href={hrefWith(pathname, { view: values.view === "list" ? undefined : values.view }) as Route} variant="ghost">
          Clear filters
        </ButtonLink>
        <Button type="submit" variant="primary">
          Apply filters
        </Button>
      </div>
    </form>
  );
}
