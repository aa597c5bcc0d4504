/* The conformance extension in C (an Extism plugin built with zig cc and sdk/c/exthost.h). */
#include "exthost.h"
#include <stdio.h>

static exthost_result json_out(const char *format, ...) __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static exthost_result json_out(const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  int n = vsnprintf(NULL, 0, format, ap);
  va_end(ap);
  char *out = malloc((size_t)n + 1);
  if (!out) return exthost_out_of_memory();
  va_start(ap, format);
  vsnprintf(out, (size_t)n + 1, format, ap);
  va_end(ap);
  exthost_result r = exthost_done(out);
  free(out);
  return r;
}

static exthost_result echo(exthost_args args) {
  const char *req, *params, *query;
  size_t rl, pl, ql;
  if (!exthost_arg(args, 0, &req, &rl)) return exthost_fail("no request");
  exthost_get(req, rl, "params", &params, &pl);
  exthost_get(req, rl, "query", &query, &ql);
  return json_out("{\"status\":200,\"body\":{\"params\":%.*s,\"query\":%.*s}}", (int)pl, params, (int)ql, query);
}

static exthost_result echo_body(exthost_args args) {
  const char *req, *params, *query, *body;
  size_t rl, pl, ql, bl;
  if (!exthost_arg(args, 0, &req, &rl)) return exthost_fail("no request");
  exthost_get(req, rl, "params", &params, &pl);
  exthost_get(req, rl, "query", &query, &ql);
  exthost_get(req, rl, "body", &body, &bl);
  return json_out("{\"status\":201,\"body\":{\"params\":%.*s,\"query\":%.*s,\"body\":%.*s}}", (int)pl, params, (int)ql,
                  query, (int)bl, body);
}

static exthost_result text(exthost_args args) { return exthost_done("{\"status\":200,\"body\":\"plain text\"}"); }

static exthost_result logged(exthost_args args) {
  exthost_reply r = exthost_log("conformance");
  bool ok = r.ok;
  free(r.text);
  if (!ok) return exthost_fail("log refused");
  return exthost_done("{\"status\":200,\"body\":{\"logged\":true}}");
}

static exthost_result denied(exthost_args args) {
  exthost_reply r = exthost_request("https://example.com/", "{\"method\":\"GET\",\"headers\":{}}");
  if (r.ok) {
    free(r.text);
    return exthost_done("{\"status\":200,\"body\":{\"denied\":false}}");
  }
  char *message = exthost_json_string(r.text);
  free(r.text);
  exthost_result out = json_out("{\"status\":403,\"body\":{\"error\":%s}}", message);
  free(message);
  return out;
}

static exthost_result loop(exthost_args args) {
  for (volatile int i = 0;; i++) {
  }
  return exthost_nothing();
}

static void *volatile kept;

static exthost_result bomb(exthost_args args) {
  for (;;) {
    void **block = malloc(1 << 20);
    if (!block) return exthost_out_of_memory();
    memset(block, 1, 1 << 20);
    block[0] = kept; /* keep every block reachable */
    kept = block;
  }
}

static exthost_result touch(exthost_args args) {
  const char *payload;
  size_t length;
  if (!exthost_arg(args, 0, &payload, &length) || length < 2 || payload[0] != '{') return exthost_fail("no payload");
  const char *inner = payload + 1;
  size_t inner_length = length - 2;
  while (inner_length && (inner[0] == ' ' || inner[0] == '\n')) inner++, inner_length--;
  return json_out("{%.*s%s\"touched\":true}", (int)inner_length, inner, inner_length ? "," : "");
}

static exthost_result reject(exthost_args args) { return exthost_fail("rejected by the conformance hook"); }

static exthost_result operation(exthost_args args) {
  const char *options, *value, *reason, *fail, *context, *data;
  size_t ol, vl, rl, fl, cl, dl;
  exthost_arg(args, 0, &options, &ol);
  if (exthost_get(options, ol, "fail", &fail, &fl) && fl == 4 && strncmp(fail, "true", 4) == 0) {
    char message[256];
    if (!exthost_get(options, ol, "reason", &reason, &rl)) reason = "\"\"", rl = 2;
    snprintf(message, sizeof message, "operation rejected: %.*s", (int)(rl - 2), reason + 1);
    return exthost_fail(message);
  }
  if (!exthost_get(options, ol, "value", &value, &vl)) value = "null", vl = 4;
  int keys = 0;
  if (exthost_arg(args, 1, &context, &cl) && exthost_get(context, cl, "data", &data, &dl)) {
    const char *k, *end = data + dl;
    size_t kl;
    /* count the members: find each key in turn */
    for (const char *p = data + 1; p < end;) {
      p = exthost__ws(p, end);
      if (*p != '"') break;
      k = p;
      p = exthost_json_skip(p, end);
      kl = (size_t)(p - k);
      (void)kl;
      p = exthost__ws(p, end);
      p++; /* ':' */
      p = exthost_json_skip(p, end);
      p = exthost__ws(p, end);
      keys++;
      if (*p == ',') p++;
    }
  }
  return json_out("{\"ok\":true,\"value\":%.*s,\"keys\":%d}", (int)vl, value, keys);
}

EXTHOST_HANDLERS(echo, echo_body, text, logged, denied, loop, bomb, touch, reject, operation)

__attribute__((export_name("register"))) int32_t register_extension(void) {
  size_t length;
  char *context = exthost_register_context(&length);
  const char *kind;
  size_t kl;
  if (!context || !exthost_get(context, length, "kind", &kind, &kl)) return 1;
  int32_t rc;
  if (strncmp(kind, "\"endpoint\"", kl) == 0)
    rc = exthost_registered(
        "{\"id\":\"conformance-c\",\"routes\":["
        "{\"method\":\"GET\",\"path\":\"/echo/:id\",\"handler\":0},"
        "{\"method\":\"POST\",\"path\":\"/echo/:id\",\"handler\":1},"
        "{\"method\":\"GET\",\"path\":\"/text\",\"handler\":2},"
        "{\"method\":\"GET\",\"path\":\"/log\",\"handler\":3},"
        "{\"method\":\"GET\",\"path\":\"/denied\",\"handler\":4},"
        "{\"method\":\"GET\",\"path\":\"/loop\",\"handler\":5},"
        "{\"method\":\"GET\",\"path\":\"/bomb\",\"handler\":6}]}");
  else if (strncmp(kind, "\"hook\"", kl) == 0)
    rc = exthost_registered("{\"filters\":[{\"event\":\"items.create\",\"handler\":7},"
                            "{\"event\":\"items.update\",\"handler\":8}],\"actions\":[]}");
  else
    rc = exthost_registered("{\"operation\":{\"id\":\"conformance\",\"handler\":9}}");
  free(context);
  return rc;
}
