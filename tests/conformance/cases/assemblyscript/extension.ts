// The conformance extension in AssemblyScript (an Extism plugin on @extism/as-pdk).
import { extension, registerContext, Value, Result, done, fail, log, request } from "@exthost/assemblyscript/assembly";
export { invoke } from "@exthost/assemblyscript/assembly";

function response(status: i32, body: Value): Result {
  return done(Value.object().set("status", Value.number(<f64>status)).set("body", body));
}

function echo(args: Value): Result {
  const req = args.at(0);
  return response(200, Value.object().set("params", req.get("params")).set("query", req.get("query")));
}

function echoBody(args: Value): Result {
  const req = args.at(0);
  const body = Value.object().set("params", req.get("params")).set("query", req.get("query")).set("body", req.get("body"));
  return response(201, body);
}

function text(args: Value): Result {
  return response(200, Value.string("plain text"));
}

function logged(args: Value): Result {
  const reply = log("conformance");
  if (!reply.ok) return fail(reply.text);
  return response(200, Value.object().set("logged", Value.bool(true)));
}

function denied(args: Value): Result {
  const reply = request("https://example.com/");
  if (reply.ok) return response(200, Value.object().set("denied", Value.bool(false)));
  return response(403, Value.object().set("error", Value.string(reply.text)));
}

function loop(args: Value): Result {
  let i = 0;
  while (true) i++;
  return response(200, Value.null());
}

function bomb(args: Value): Result {
  const keep = new Array<Uint8Array>();
  while (true) keep.push(new Uint8Array(1 << 20));
  return response(200, Value.null());
}

function touch(args: Value): Result {
  return done(args.at(0).set("touched", Value.bool(true)));
}

function reject(args: Value): Result {
  return fail("rejected by the conformance hook");
}

function operation(args: Value): Result {
  const options = args.at(0);
  if (options.get("fail").asBool()) return fail("operation rejected: " + options.get("reason").asString());
  const keys = args.at(1).get("data").keys.length;
  return done(Value.object().set("ok", Value.bool(true)).set("value", options.get("value")).set("keys", Value.number(<f64>keys)));
}

export function register(): i32 {
  const kind = registerContext().get("kind").asString();
  if (kind == "endpoint") {
    extension.id("conformance-as");
    extension.get("/echo/:id", echo).post("/echo/:id", echoBody).get("/text", text).get("/log", logged);
    extension.get("/denied", denied).get("/loop", loop).get("/bomb", bomb);
  } else if (kind == "hook") {
    extension.filter("items.create", touch).filter("items.update", reject);
  } else {
    extension.operation("conformance", operation);
  }
  return extension.registered();
}
