"use client";

import { usePathname, useRouter } from "next/navigation";
import type { Route } from "next";
import Link from "next/link";
import { useId, type FormEvent } from "react";
import { Button, ButtonLink } from "@/components/ui/button";
import { Field, Input, Select } from "@/components/ui/form";
import { hrefWith } from "@/lib/url";

export interface AuditFilterValues {
  actor?: string;
  action?: string;
  outcome?: string;
  from?: string;
  to?: string;
}

const presets = ["1h", "24h", "7d", "30d"] as const;

/**
 * The audit log's filters, as a GET form (it works without JavaScript). With JavaScript, submitting
 * navigates to a clean URL: empty fields and the page cursor are dropped.
 */
export function AuditFilterBar({ values, actors, actions }: { values: AuditFilterValues; actors: string[]; actions: string[] }) {
  const router = useRouter();
  const pathname = usePathname();
  const id = useId();
  const field = (name: string) => `${id}-${name}`;
  const actionChoices = values.action && !actions.includes(values.action) ? [values.action, ...actions] : actions;

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const params: Record<string, string> = {};
    for (const [name, value] of new FormData(event.currentTarget).entries()) {
      if (typeof value === "string" && value.trim() !== "") params[name] = value.trim();
    }
    router.push(hrefWith(pathname, params) as Route);
  };

  return (
    <form method="get" action={pathname} onSubmit={onSubmit} role="search" aria-label="Filter the audit log" className="mb-4 rounded-lg border border-zinc-200 bg-white p-4 shadow-xs">
      <div className="grid grid-cols-1 gap-3 md:grid-cols-3 xl:grid-cols-5">
        <Field label="Actor" htmlFor={field("actor")}>
          <Input id={field("actor")} name="actor" list={field("actors")} defaultValue={values.actor} placeholder="anyone" maxLength={200} autoComplete="off" />
          <datalist id={field("actors")}>
            {actors.map((actor) => (
              <option key={actor} value={actor} />
            ))}
          </datalist>
        </Field>
        <Field label="Action" htmlFor={field("action")}>
          <Select id={field("action")} name="action" defaultValue={values.action ?? ""}>
            <option value="">Any action</option>
            {actionChoices.map((action) => (
              <option key={action} value={action}>
                {action}
              </option>
            ))}
          </Select>
        </Field>
        <Field label="Outcome" htmlFor={field("outcome")}>
          <Select id={field("outcome")} name="outcome" defaultValue={values.outcome ?? ""}>
            <option value="">Any outcome</option>
            <option value="done">done</option>
            <option value="refused">refused</option>
            <option value="error">error</option>
          </Select>
        </Field>
        <Field label="From" htmlFor={field("from")}>
          <Input id={field("from")} name="from" defaultValue={values.from} placeholder="24h, 7d or 2026-01-31T12:00Z" maxLength={40} autoComplete="off" />
        </Field>
        <Field label="Before" htmlFor={field("to")}>
          <Input id={field("to")} name="to" defaultValue={values.to} placeholder="now" maxLength={40} autoComplete="off" />
        </Field>
      </div>
      <div className="mt-4 flex flex-wrap items-center justify-between gap-3">
        <div className="flex flex-wrap items-center gap-1.5 text-xs text-zinc-500">
          <span>In the last</span>
          {presets.map((preset) => (
            <Link
              key={preset}
              href={hrefWith(pathname, { ...values, from: preset, to: undefined }) as Route}
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
