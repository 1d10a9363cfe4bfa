/**
 * Lexer and recursive-descent parser for the segment language (README.md, "Segments").
 *
 * Hand-written on purpose: no maintained expression library targets both a JS evaluator and
 * parameterised SQL, and the grammar is small. The parser also type-checks every comparison
 * (numbers against number fields, strings against text fields, ...), so both back ends receive only
 * comparisons whose meaning they agree on. `in (a, b)` is desugared to `= a or = b`, and
 * `contains (a, b)` to `contains a and contains b`; a bare `customer` means `customer = true`.
 *
 * Errors are SegmentErrors whose `position` is the 1-based column of the offending token and whose
 * message reads `at 14: expected a value (number, string, list, true, false) but found ")"`.
 *
 *   expr       := and ("or" and)*
 *   and        := unary ("and" unary)*
 *   unary      := "not" unary | "(" expr ")" | comparison
 *   comparison := field (op value | "in" list | "contains" (value | list))   -- or a bare `customer`
 *   field      := name | "attr." NAME | "interest" "(" string ["," days] ")" | "visits" "(" days ")"
 *               | "event" "(" string ["," days] ")" | "purchases" "(" days ")"
 *   days       := a whole number from 1 to MAX_WINDOW_DAYS (the per-day history that is kept)
 *   list       := "(" value ("," value)* ")"
 */
import {
  ATTR_NAME_PATTERN,
  FIELD_NAMES,
  isNumberField,
  isTextField,
  MAX_WINDOW_DAYS,
  type NumberField,
  suggestField,
  type TextField,
} from "./fields";

export class SegmentError extends Error {
  /** 1-based column of the token where the expression went wrong. */
  position: number;
  /** What the parser expected there, e.g. `a value (number, string, list, true, false)`. */
  expected: string;

  constructor(position: number, expected: string, found?: string) {
    super(
      found === undefined ? `at ${position}: ${expected}` : `at ${position}: expected ${expected} but found ${found}`,
    );
    this.name = "SegmentError";
    this.position = position;
    this.expected = expected;
  }
}

export type FieldRef =
  | { kind: "number"; name: NumberField; pos: number }
  | { kind: "text"; name: TextField; pos: number }
  | { kind: "customer"; pos: number }
  | { kind: "cluster"; pos: number }
  | { kind: "attr"; name: string; pos: number }
  | { kind: "interest"; category: string; days: number | null; pos: number }
  | { kind: "visits_window"; days: number; pos: number }
  | { kind: "event"; name: string; days: number | null; pos: number }
  | { kind: "purchases_window"; days: number; pos: number };

export type Literal = string | number | boolean;
export type CompareOp = "=" | "!=" | "<" | "<=" | ">" | ">=" | "contains";

export type SegmentAst =
  | { type: "and"; items: SegmentAst[] }
  | { type: "or"; items: SegmentAst[] }
  | { type: "not"; item: SegmentAst }
  | { type: "compare"; field: FieldRef; op: CompareOp; value: Literal };

type Token =
  | { t: "ident"; text: string; pos: number }
  | { t: "number"; value: number; text: string; pos: number }
  | { t: "string"; value: string; text: string; pos: number }
  | { t: "punct"; text: string; pos: number }
  | { t: "end"; pos: number };

const MAX_LENGTH = 4_000;
const VALUE = "a value (number, string, list, true, false)";
const OPERATORS = new Set(["=", "!=", "<", "<=", ">", ">="]);

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    const pos = i + 1;
    if (/\s/.test(ch)) {
      i++;
    } else if (/[A-Za-z_]/.test(ch)) {
      const match = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]*)?/.exec(source.slice(i))!;
      tokens.push({ t: "ident", text: match[0], pos });
      i += match[0].length;
    } else if (/[0-9]/.test(ch) || (ch === "-" && /[0-9.]/.test(source[i + 1] ?? ""))) {
      const match = /^-?(\d+(\.\d+)?|\.\d+)/.exec(source.slice(i));
      if (!match) throw new SegmentError(pos, "a number", JSON.stringify(source.slice(i, i + 2)));
      tokens.push({ t: "number", value: Number(match[0]), text: match[0], pos });
      i += match[0].length;
    } else if (ch === '"' || ch === "'") {
      let value = "";
      let j = i + 1;
      while (j < source.length && source[j] !== ch) {
        if (source[j] === "\\" && j + 1 < source.length) j++;
        value += source[j];
        j++;
      }
      if (j >= source.length) throw new SegmentError(pos, `a closing ${ch}`, "end of expression");
      tokens.push({ t: "string", value, text: source.slice(i, j + 1), pos });
      i = j + 1;
    } else {
      const two = source.slice(i, i + 2);
      const text = ["!=", "<=", ">="].includes(two) ? two : ch;
      if (!"()=,<>".includes(text) && text.length === 1) {
        throw new SegmentError(pos, "a field, operator or value", JSON.stringify(ch));
      }
      tokens.push({ t: "punct", text, pos });
      i += text.length;
    }
  }
  tokens.push({ t: "end", pos: source.length + 1 });
  return tokens;
}

function describe(token: Token): string {
  if (token.t === "end") return "end of expression";
  if (token.t === "ident" || token.t === "punct") return JSON.stringify(token.text);
  return token.text;
}

function isKeyword(token: Token, word: string): boolean {
  return token.t === "ident" && token.text.toLowerCase() === word;
}

class Parser {
  private index = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.index];
  }

  private next(): Token {
    return this.tokens[this.index++];
  }

  private fail(expected: string, token = this.peek()): never {
    throw new SegmentError(token.pos, expected, describe(token));
  }

  private expectPunct(text: string): Token {
    const token = this.peek();
    if (token.t !== "punct" || token.text !== text) this.fail(`"${text}"`);
    return this.next();
  }

  parseAll(): SegmentAst {
    if (this.peek().t === "end") this.fail("a condition (e.g. orders > 0)");
    const ast = this.parseOr();
    if (this.peek().t !== "end") this.fail('"and", "or" or the end of the expression');
    return ast;
  }

  private parseOr(): SegmentAst {
    const items = [this.parseAnd()];
    while (isKeyword(this.peek(), "or")) {
      this.next();
      items.push(this.parseAnd());
    }
    return items.length === 1 ? items[0] : { type: "or", items };
  }

  private parseAnd(): SegmentAst {
    const items = [this.parseUnary()];
    while (isKeyword(this.peek(), "and")) {
      this.next();
      items.push(this.parseUnary());
    }
    return items.length === 1 ? items[0] : { type: "and", items };
  }

  private parseUnary(): SegmentAst {
    const token = this.peek();
    if (isKeyword(token, "not")) {
      this.next();
      return { type: "not", item: this.parseUnary() };
    }
    if (token.t === "punct" && token.text === "(") {
      this.next();
      const inner = this.parseOr();
      this.expectPunct(")");
      return inner;
    }
    return this.parseComparison();
  }

  private parseDays(): number {
    const token = this.peek();
    if (token.t !== "number" || !Number.isInteger(token.value) || token.value < 1) {
      this.fail(`a whole number of days (1 to ${MAX_WINDOW_DAYS})`);
    }
    if (token.value > MAX_WINDOW_DAYS) {
      // Per-day history older than this is not kept: a longer window would quietly count less.
      this.fail(`a window of at most ${MAX_WINDOW_DAYS} days (per-day history is kept ${MAX_WINDOW_DAYS} days)`);
    }
    this.next();
    return token.value;
  }

  /** `( "string" [, days] )` after interest / event. */
  private parseNamedWindow(example: string): { name: string; days: number | null } {
    this.next();
    this.expectPunct("(");
    const name = this.peek();
    if (name.t !== "string") this.fail(example);
    this.next();
    let days: number | null = null;
    if (this.peek().t === "punct" && (this.peek() as { text: string }).text === ",") {
      this.next();
      days = this.parseDays();
    }
    this.expectPunct(")");
    return { name: name.value, days };
  }

  /** `( days )` after visits / purchases. */
  private parseWindow(): number {
    this.next();
    this.next();
    const days = this.parseDays();
    this.expectPunct(")");
    return days;
  }

  private parseField(): FieldRef {
    const token = this.peek();
    const fieldList = `a field (${FIELD_NAMES.join(", ")})`;
    if (token.t !== "ident") this.fail(fieldList);
    const name = token.text;
    const pos = token.pos;
    const after = this.tokens[this.index + 1];
    const call = after.t === "punct" && after.text === "(";
    if (name === "interest") {
      const { name: category, days } = this.parseNamedWindow('a category as a string, e.g. interest("rings")');
      return { kind: "interest", category, days, pos };
    }
    if (name === "event") {
      const window = this.parseNamedWindow('an event name as a string, e.g. event("newsletter_signup")');
      return { kind: "event", ...window, pos };
    }
    if (name === "visits" && call) return { kind: "visits_window", days: this.parseWindow(), pos };
    if (name === "purchases") {
      if (!call) this.fail('"(" and a number of days, e.g. purchases(30)', after);
      return { kind: "purchases_window", days: this.parseWindow(), pos };
    }
    this.next();
    if (name.startsWith("attr.")) {
      const attr = name.slice(5);
      if (!ATTR_NAME_PATTERN.test(attr)) {
        throw new SegmentError(pos + 5, "an attribute name (letters, digits, _) after attr.", JSON.stringify(attr));
      }
      return { kind: "attr", name: attr, pos };
    }
    if (name === "customer") return { kind: "customer", pos };
    if (name === "cluster") return { kind: "cluster", pos };
    if (isNumberField(name)) return { kind: "number", name, pos };
    if (isTextField(name)) return { kind: "text", name, pos };
    const suggestion = suggestField(name);
    if (suggestion) throw new SegmentError(pos, fieldList, `${describe(token)} — did you mean ${suggestion}?`);
    this.fail(fieldList, token);
  }

  private parseValue(): { value: Literal; token: Token } {
    const token = this.peek();
    if (token.t === "number" || token.t === "string") {
      this.next();
      return { value: token.value, token };
    }
    if (isKeyword(token, "true") || isKeyword(token, "false")) {
      this.next();
      return { value: isKeyword(token, "true"), token };
    }
    this.fail(VALUE);
  }

  private parseList(): { value: Literal; token: Token }[] {
    this.expectPunct("(");
    const values = [this.parseValue()];
    while (this.peek().t === "punct" && (this.peek() as { text: string }).text === ",") {
      this.next();
      values.push(this.parseValue());
    }
    this.expectPunct(")");
    return values;
  }

  private parseComparison(): SegmentAst {
    const field = this.parseField();
    const token = this.peek();
    if (field.kind === "customer" && !(token.t === "punct" && OPERATORS.has(token.text))) {
      return { type: "compare", field, op: "=", value: true };
    }
    if (token.t === "punct" && OPERATORS.has(token.text)) {
      this.next();
      const op = token.text as CompareOp;
      if (this.peek().t === "punct" && (this.peek() as { text: string }).text === "(") {
        this.fail(`${VALUE} after ${op} (lists go with "in" and "contains")`);
      }
      const { value, token: valueToken } = this.parseValue();
      checkTypes(field, op, value, token, valueToken);
      return { type: "compare", field, op, value };
    }
    if (isKeyword(token, "in") || isKeyword(token, "contains")) {
      this.next();
      const keyword = token.t === "ident" ? token.text.toLowerCase() : "";
      const op: CompareOp = keyword === "in" ? "=" : "contains";
      const opening = this.peek();
      const values =
        opening.t === "punct" && opening.text === "("
          ? this.parseList()
          : keyword === "contains"
            ? [this.parseValue()]
            : this.fail(`a list after "in", e.g. ("rings", "earrings")`);
      const items: SegmentAst[] = values.map(({ value, token: valueToken }) => {
        checkTypes(field, op, value, token, valueToken);
        return { type: "compare", field, op, value };
      });
      if (items.length === 1) return items[0];
      return { type: op === "=" ? "or" : "and", items };
    }
    this.fail("an operator (=, !=, <, <=, >, >=, in, contains)");
  }
}

function fieldLabel(field: FieldRef): string {
  switch (field.kind) {
    case "number":
    case "text":
      return field.name;
    case "attr":
      return `attr.${field.name}`;
    case "interest":
      return "interest(...)";
    case "visits_window":
      return "visits(...)";
    case "event":
      return "event(...)";
    case "purchases_window":
      return "purchases(...)";
    default:
      return field.kind;
  }
}

/** Refuses comparisons whose meaning would depend on the back end (e.g. ordering strings). */
function checkTypes(field: FieldRef, op: CompareOp, value: Literal, opToken: Token, valueToken: Token) {
  const label = fieldLabel(field);
  const found = describe(valueToken);
  const ordered = op === "<" || op === "<=" || op === ">" || op === ">=";
  switch (field.kind) {
    case "number":
    case "interest":
    case "visits_window":
    case "event":
    case "purchases_window":
      if (op === "contains")
        throw new SegmentError(opToken.pos, `=, !=, <, <=, >, >= or in for ${label}`, '"contains"');
      if (typeof value !== "number") throw new SegmentError(valueToken.pos, `a number for ${label}`, found);
      return;
    case "text":
    case "cluster":
      if (ordered) {
        throw new SegmentError(opToken.pos, `=, !=, in or contains for ${label}`, JSON.stringify(op));
      }
      if (typeof value !== "string") throw new SegmentError(valueToken.pos, `a string for ${label}`, found);
      return;
    case "customer":
      if (op !== "=" && op !== "!=") throw new SegmentError(opToken.pos, "= or != for customer", JSON.stringify(op));
      if (typeof value !== "boolean") throw new SegmentError(valueToken.pos, "true or false for customer", found);
      return;
    case "attr":
      if (ordered && typeof value !== "number") {
        throw new SegmentError(valueToken.pos, `a number after ${op}`, found);
      }
      if (op === "contains" && typeof value !== "string") {
        throw new SegmentError(valueToken.pos, "a string after contains", found);
      }
      return;
  }
}

/** Parses and type-checks an expression; throws SegmentError naming the position and what was expected. */
export function parseSegment(expression: string): SegmentAst {
  if (expression.length > MAX_LENGTH) {
    throw new SegmentError(MAX_LENGTH + 1, `an expression of at most ${MAX_LENGTH} characters`, "more");
  }
  return new Parser(tokenize(expression)).parseAll();
}
