// filter("items.create"): an item with a `title` and no `slug` gets one ("Hello World!" -> "hello-world").
import { extension, Value, Result, done, nothing, log } from "@exthost/assemblyscript/assembly";
export { invoke } from "@exthost/assemblyscript/assembly";

function slugify(text: string): string {
  let out = "";
  let dash = false;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) {
      if (dash && out.length > 0) out += "-";
      out += String.fromCharCode(c);
      dash = false;
    } else {
      dash = true;
    }
  }
  return out;
}

function addSlug(args: Value): Result {
  const payload = args.at(0);
  const title = payload.get("title");
  if (title.isNull || payload.has("slug")) return nothing(); // keep the payload as it is
  const slug = slugify(title.asString());
  log("slug " + slug);
  return done(payload.set("slug", Value.string(slug)));
}

export function register(): i32 {
  extension.filter("items.create", addSlug);
  return extension.registered();
}
