// exthost SDK for AssemblyScript: extensions as Extism plugins (docs/languages.md).
//
//   import { extension, Value, Result, done, fail, log } from "@exthost/assemblyscript/assembly";
//   export { invoke } from "@exthost/assemblyscript/assembly";
//
//   function hello(args: Value): Result {
//     const req = args.at(0);
//     return done(Value.object().set("status", Value.number(200)).set("body", Value.string("Hello")));
//   }
//   export function register(): i32 {
//     extension.get("/", hello);
//     return extension.registered();
//   }
import { Host, Memory } from "@extism/as-pdk";
import { error_set, free, length } from "@extism/as-pdk/lib/env";
import { Value, quote } from "./json";

export { Value, Kind, quote } from "./json";

// ---- the directus:api capabilities (Extism host functions; errors come back in-band)

// @ts-ignore: decorator
@external("directus:api", "log")
declare function host_log(message: u64): u64;
// @ts-ignore: decorator
@external("directus:api", "sleep")
declare function host_sleep(ms: u64): u64;
// @ts-ignore: decorator
@external("directus:api", "request")
declare function host_request(url: u64, options: u64): u64;

/** A capability's answer: `ok` and its value, or not and the host's message. */
export class Reply {
  constructor(public ok: bool, public text: string) {}
}

function reply(offset: u64): Reply {
  const bytes = new Memory(offset, length(offset)).toUint8Array();
  free(offset);
  if (bytes.length == 0) return new Reply(false, "the host sent no answer");
  const text = String.UTF8.decode(bytes.buffer.slice(1));
  return new Reply(bytes[0] == 0, text);
}

/** Write `message` to the host log (needs the `log` scope). */
export function log(message: string): Reply {
  const block = Memory.allocateString(message);
  const answer = reply(host_log(block.offset));
  block.free();
  return answer;
}

/** Pause for `ms` milliseconds (needs the `sleep` scope). */
export function sleep(ms: u32): Reply {
  return reply(host_sleep(<u64>ms));
}

/** Outbound HTTP (needs the `request` scope); the ok text is `{status, statusText, headers, data}` JSON. */
export function request(url: string, method: string = "GET", body: string | null = null): Reply {
  const options = Value.object().set("method", Value.string(method)).set("headers", Value.object());
  if (body !== null) options.set("body", Value.string(body));
  const u = Memory.allocateString(url);
  const o = Memory.allocateString(options.toString());
  const answer = reply(host_request(u.offset, o.offset));
  u.free();
  o.free();
  return answer;
}

// ---- results

/** What a handler returns: `done(value)`, `nothing()` or `fail(message)`. */
export class Result {
  constructor(public state: i32, public text: string) {}
}
export function done(value: Value): Result { return new Result(0, value.toString()); }
export function doneJson(json: string): Result { return new Result(0, json); }
export function nothing(): Result { return new Result(1, ""); }
export function fail(message: string): Result { return new Result(2, message); }

export type Handler = (args: Value) => Result;

// ---- registration

class Extension {
  handlers: Handler[] = [];
  endpointId: string | null = null;
  routes: Value = Value.array();
  filters: Value = Value.array();
  actions: Value = Value.array();
  operationBinding: Value | null = null;

  private add(fn: Handler): Value {
    this.handlers.push(fn);
    return Value.number(<f64>(this.handlers.length - 1));
  }
  private route(method: string, path: string, fn: Handler): Extension {
    this.routes.push(Value.object().set("method", Value.string(method)).set("path", Value.string(path)).set("handler", this.add(fn)));
    return this;
  }
  /** The endpoint id (`/<id>/...`); defaults to the package name. */
  id(id: string): Extension { this.endpointId = id; return this; }
  get(path: string, fn: Handler): Extension { return this.route("GET", path, fn); }
  post(path: string, fn: Handler): Extension { return this.route("POST", path, fn); }
  put(path: string, fn: Handler): Extension { return this.route("PUT", path, fn); }
  patch(path: string, fn: Handler): Extension { return this.route("PATCH", path, fn); }
  delete(path: string, fn: Handler): Extension { return this.route("DELETE", path, fn); }
  /** `fn([payload, meta, context])`: its result replaces the payload, `nothing()` keeps it, `fail` cancels. */
  filter(event: string, fn: Handler): Extension {
    this.filters.push(Value.object().set("event", Value.string(event)).set("handler", this.add(fn)));
    return this;
  }
  action(event: string, fn: Handler): Extension {
    this.actions.push(Value.object().set("event", Value.string(event)).set("handler", this.add(fn)));
    return this;
  }
  /** `fn([options, context])`: `done` resolves, `fail` rejects. */
  operation(id: string, fn: Handler): Extension {
    this.operationBinding = Value.object().set("id", Value.string(id)).set("handler", this.add(fn));
    return this;
  }
  /** Send the registration to the host; return its value from your `register` export. */
  registered(): i32 {
    const reg = Value.object();
    if (this.endpointId !== null) reg.set("id", Value.string(<string>this.endpointId));
    if (this.routes.length > 0) reg.set("routes", this.routes);
    if (this.filters.length > 0 || this.actions.length > 0) reg.set("filters", this.filters).set("actions", this.actions);
    const op = this.operationBinding;
    if (op !== null) reg.set("operation", op);
    Host.output(Uint8Array.wrap(String.UTF8.encode(reg.toString())));
    return 0;
  }
}

export const extension = new Extension();

function output(text: string): void {
  Host.output(Uint8Array.wrap(String.UTF8.encode(text)));
}

/** The `invoke` export: re-export it from your entry file. */
export function invoke(): i32 {
  const input = Value.parse(Host.inputString());
  const index = <i32>input.get("handler").asNumber();
  if (index < 0 || index >= extension.handlers.length) {
    output("{\"failed\":{\"message\":\"no handler number " + index.toString() + "\"}}");
    return 0;
  }
  const result = extension.handlers[index](input.get("args"));
  if (result.state == 0) output("{\"done\":" + result.text + "}");
  else if (result.state == 1) output("{}");
  else output("{\"failed\":{\"message\":" + quote(result.text) + "}}");
  return 0;
}

/** The `abort` of extensions built by exthost (asc --use abort=...): reports the message, then traps. */
export function exthostAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const text = (message !== null ? message : "abort") + (fileName !== null ? " at " + fileName + ":" + line.toString() : "");
  error_set(Memory.allocateString(text).offset);
  unreachable();
}

/** In `register`: the host's `{kind, name}` (one plugin may serve several kinds). */
export function registerContext(): Value {
  return Value.parse(Host.inputString());
}
