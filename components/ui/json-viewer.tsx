import type { ReactNode } from "react";
import { cx } from "./cx";
import { escapeInvisible } from "./invisible";

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Renders any JSON as React text nodes, so everything in a payload (script tags, HTML, control
 * characters) is escaped by React and shown, never interpreted. Deep structures fold with <details>.
 */
export function JsonViewer({ value, className, maxStringLength = 2000 }: { value: unknown; className?: string; maxStringLength?: number }) {
  return (
    <pre className={cx("overflow-x-auto rounded-md bg-zinc-950 p-3 font-mono text-xs leading-relaxed text-zinc-100", className)}>
      <JsonNode value={value as JsonValue} depth={0} maxStringLength={maxStringLength} />
    </pre>
  );
}

function JsonNode({ value, depth, maxStringLength }: { value: JsonValue; depth: number; maxStringLength: number }): ReactNode {
  if (value === null) return <span className="text-zinc-400">null</span>;
  if (typeof value === "boolean") return <span className="text-violet-300">{String(value)}</span>;
  if (typeof value === "number") return <span className="text-amber-300">{String(value)}</span>;
  if (typeof value === "string") {
    const shown = value.length > maxStringLength ? `${value.slice(0, maxStringLength)}… (${value.length - maxStringLength} more characters)` : value;
    return <span className="text-emerald-300">{escapeInvisible(JSON.stringify(shown))}</span>;
  }
  const isArray = Array.isArray(value);
  const entries: Array<[string, JsonValue]> = isArray ? value.map((item, i) => [String(i), item]) : Object.entries(value);
  const [open, close] = isArray ? ["[", "]"] : ["{", "}"];
  if (entries.length === 0) return <span>{`${open}${close}`}</span>;
  const indent = "  ".repeat(depth + 1);
  const body = (
    <>
      {entries.map(([key, item], i) => (
        <span key={key}>
          {"\n"}
          {indent}
          {!isArray && <span className="text-sky-300">{escapeInvisible(JSON.stringify(key))}</span>}
          {!isArray && ": "}
          <JsonNode value={item} depth={depth + 1} maxStringLength={maxStringLength} />
          {i < entries.length - 1 ? "," : ""}
        </span>
      ))}
      {"\n"}
      {"  ".repeat(depth)}
    </>
  );
  if (depth >= 3 && entries.length > 0) {
    return (
      <details className="inline">
        <summary className="inline cursor-pointer text-zinc-400">
          {open}… {entries.length} {isArray ? "items" : "keys"}
          {close}
        </summary>
        {open}
        {body}
        {close}
      </details>
    );
  }
  return (
    <span>
      {open}
      {body}
      {close}
    </span>
  );
}
