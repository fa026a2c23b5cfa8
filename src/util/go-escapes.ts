/**
 * Go's single-character escapes shared by its string and rune literals (`\a \b \f \n \r \t \v
 * \\`), as every Go-style unquoter here reads them: LogQL strings, stream label strings and
 * template literals. The quote escapes differ per literal kind, so each caller handles those.
 */
export const GO_CHAR_ESCAPES: Readonly<Record<string, string>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, string>, {
    a: '\x07',
    b: '\b',
    f: '\f',
    n: '\n',
    r: '\r',
    t: '\t',
    v: '\v',
    '\\': '\\',
  }),
);
