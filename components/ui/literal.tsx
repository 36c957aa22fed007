import { Fragment } from "react";
import { escapeInvisible, INVISIBLE } from "./invisible";

/** A user-supplied string shown exactly as it is, with invisible and reordering characters made visible. */
export function Literal({ text }: { text: string }) {
  const parts = text.split(INVISIBLE);
  if (parts.length === 1) return <>{text}</>;
  const marks = text.match(INVISIBLE) ?? [];
  return (
    <>
      {parts.map((part, i) => (
        <Fragment key={i}>
          {part}
          {i < marks.length && (
            <span className="mx-px rounded bg-amber-100 px-0.5 text-[0.85em] text-amber-900" title="an invisible or reordering character">
              {escapeInvisible(marks[i]!)}
            </span>
          )}
        </Fragment>
      ))}
    </>
  );
}
