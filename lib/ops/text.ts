/**
 * Text with every lone UTF-16 surrogate replaced by U+FFFD. Postgres refuses a lone surrogate in
 * jsonb, and error messages can carry one (V8's JSON.parse quotes the offending code unit, so a
 * payload starting with an emoji yields half of it): an audit row must never fail on its message.
 */
export function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}
