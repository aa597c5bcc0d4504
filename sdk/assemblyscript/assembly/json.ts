// A small JSON value for exthost extensions: parse the handler's arguments, build its result.

export enum Kind { Null, Bool, Number, String, Array, Object }

export class Value {
  kind: Kind = Kind.Null;
  b: bool = false;
  n: f64 = 0;
  s: string = "";
  items: Value[] = [];
  keys: string[] = [];

  static null(): Value { return new Value(); }
  static bool(b: bool): Value { const v = new Value(); v.kind = Kind.Bool; v.b = b; return v; }
  static number(n: f64): Value { const v = new Value(); v.kind = Kind.Number; v.n = n; return v; }
  static string(s: string): Value { const v = new Value(); v.kind = Kind.String; v.s = s; return v; }
  static array(): Value { const v = new Value(); v.kind = Kind.Array; return v; }
  static object(): Value { const v = new Value(); v.kind = Kind.Object; return v; }
  static parse(text: string): Value { return new Parser(text).document(); }

  get isNull(): bool { return this.kind == Kind.Null; }
  get length(): i32 { return this.items.length; }

  /** Member `key` of an object (a null Value when absent). */
  get(key: string): Value {
    if (this.kind == Kind.Object) {
      for (let i = this.keys.length - 1; i >= 0; i--) if (this.keys[i] == key) return this.items[i];
    }
    return Value.null();
  }
  has(key: string): bool {
    if (this.kind != Kind.Object) return false;
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] == key) return true;
    return false;
  }
  /** Element `index` of an array (a null Value when absent). */
  at(index: i32): Value {
    return this.kind == Kind.Array && index >= 0 && index < this.items.length ? this.items[index] : Value.null();
  }
  set(key: string, value: Value): Value {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] == key) { this.items[i] = value; return this; }
    this.keys.push(key); this.items.push(value); return this;
  }
  push(value: Value): Value { this.items.push(value); return this; }

  asString(): string { return this.kind == Kind.String ? this.s : this.toString(); }
  asNumber(): f64 { return this.n; }
  asBool(): bool { return this.b; }

  toString(): string {
    switch (this.kind) {
      case Kind.Bool: return this.b ? "true" : "false";
      case Kind.Number: {
        if (!isFinite(this.n)) return "null";
        if (this.n == Math.floor(this.n) && Math.abs(this.n) < 9007199254740992) return (<i64>this.n).toString();
        return this.n.toString();
      }
      case Kind.String: return quote(this.s);
      case Kind.Array: {
        const parts = new Array<string>(this.items.length);
        for (let i = 0; i < this.items.length; i++) parts[i] = this.items[i].toString();
        return "[" + parts.join(",") + "]";
      }
      case Kind.Object: {
        const parts = new Array<string>(this.items.length);
        for (let i = 0; i < this.items.length; i++) parts[i] = quote(this.keys[i]) + ":" + this.items[i].toString();
        return "{" + parts.join(",") + "}";
      }
      default: return "null";
    }
  }
}

export function quote(s: string): string {
  let out = "\"";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 34) out += "\\\"";
    else if (c == 92) out += "\\\\";
    else if (c == 10) out += "\\n";
    else if (c == 13) out += "\\r";
    else if (c == 9) out += "\\t";
    else if (c < 32) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += String.fromCharCode(c);
  }
  return out + "\"";
}

class Parser {
  i: i32 = 0;
  constructor(public t: string) {}

  document(): Value {
    const v = this.value();
    this.ws();
    if (this.i != this.t.length) throw new Error("invalid JSON: trailing text");
    return v;
  }
  ws(): void {
    while (this.i < this.t.length) {
      const c = this.t.charCodeAt(this.i);
      if (c != 32 && c != 10 && c != 13 && c != 9) break;
      this.i++;
    }
  }
  value(): Value {
    this.ws();
    if (this.i >= this.t.length) throw new Error("invalid JSON: unexpected end");
    const c = this.t.charCodeAt(this.i);
    if (c == 123) return this.object();
    if (c == 91) return this.array();
    if (c == 34) return Value.string(this.str());
    if (this.t.startsWith("true", this.i)) { this.i += 4; return Value.bool(true); }
    if (this.t.startsWith("false", this.i)) { this.i += 5; return Value.bool(false); }
    if (this.t.startsWith("null", this.i)) { this.i += 4; return Value.null(); }
    const start = this.i;
    while (this.i < this.t.length) {
      const d = this.t.charCodeAt(this.i);
      if (!((d >= 48 && d <= 57) || d == 45 || d == 43 || d == 46 || d == 101 || d == 69)) break;
      this.i++;
    }
    if (start == this.i) throw new Error("invalid JSON at " + start.toString());
    return Value.number(parseFloat(this.t.substring(start, this.i)));
  }
  object(): Value {
    const v = Value.object();
    this.i++;
    this.ws();
    if (this.t.charCodeAt(this.i) == 125) { this.i++; return v; }
    while (true) {
      this.ws();
      const key = this.str();
      this.ws();
      if (this.t.charCodeAt(this.i) != 58) throw new Error("invalid JSON: expected ':'");
      this.i++;
      v.keys.push(key);
      v.items.push(this.value());
      this.ws();
      const c = this.t.charCodeAt(this.i++);
      if (c == 125) return v;
      if (c != 44) throw new Error("invalid JSON: expected ',' or '}'");
    }
  }
  array(): Value {
    const v = Value.array();
    this.i++;
    this.ws();
    if (this.t.charCodeAt(this.i) == 93) { this.i++; return v; }
    while (true) {
      v.items.push(this.value());
      this.ws();
      const c = this.t.charCodeAt(this.i++);
      if (c == 93) return v;
      if (c != 44) throw new Error("invalid JSON: expected ',' or ']'");
    }
  }
  str(): string {
    if (this.t.charCodeAt(this.i) != 34) throw new Error("invalid JSON: expected a string");
    this.i++;
    let out = "";
    let start = this.i;
    while (this.i < this.t.length) {
      const c = this.t.charCodeAt(this.i);
      if (c == 34) { out += this.t.substring(start, this.i); this.i++; return out; }
      if (c == 92) {
        out += this.t.substring(start, this.i);
        const e = this.t.charCodeAt(this.i + 1);
        this.i += 2;
        if (e == 110) out += "\n";
        else if (e == 116) out += "\t";
        else if (e == 114) out += "\r";
        else if (e == 98) out += "\b";
        else if (e == 102) out += "\f";
        else if (e == 117) { out += String.fromCharCode(<i32>parseInt(this.t.substr(this.i, 4), 16)); this.i += 4; }
        else out += String.fromCharCode(e);
        start = this.i;
        continue;
      }
      this.i++;
    }
    throw new Error("invalid JSON: unterminated string");
  }
}
