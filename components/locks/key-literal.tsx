import { Fragment } from "react";
import { Literal } from "@/components/ui/literal";

/**
 * A lock key or value shown on one line: Literal (invisible and reordering characters made visible),
 * plus line breaks and tabs as marks, which Literal leaves alone for multi-line text. In a key, "a\nb"
 * would otherwise read as "a b", a different key.
 */
export function KeyLiteral({ text }: { text: string }) {
  const parts = text.split(/(\r\n|\r|\n|\t)/);
  if (parts.length === 1) return <Literal text={text} />;
  const names: Record<string, string> = { "\r\n": "CR LF", "\r": "CR", "\n": "LF", "\t": "TAB" };
  return (
    <>
      {parts.map((part, i) =>
        i % 2 === 1 ? (
          <span key={i} className="mx-px rounded bg-amber-100 px-0.5 text-[0.85em] text-amber-900" title="a line break or tab">
            ⟨{names[part]}⟩
          </span>
        ) : (
          <Fragment key={i}>
            <Literal text={part} />
          </Fragment>
        ),
      )}
    </>
  );
}
