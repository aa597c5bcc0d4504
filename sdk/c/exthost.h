/*
 * exthost.h: write exthost extensions in C (or Zig, via @cImport) as Extism plugins.
 *
 * One header, no other dependency: it declares the Extism kernel imports
 * (`extism:host/env`), the exthost capabilities (`directus:api` log, sleep,
 * request) and the `register` / `invoke` exports of the exthost Extism ABI
 * (docs/languages.md, "The Extism ABI"). Build with the ziglang wheel:
 *
 *   python -m ziglang cc --target=wasm32-wasi -O2 -mexec-model=reactor \
 *       -Wl,-z,stack-size=65536 -I sdk/c -o dist/plugin.wasm src/plugin.c
 *
 * An extension defines its handlers and ends with EXTHOST_EXTENSION:
 *
 *   #include "exthost.h"
 *   static exthost_result hello(exthost_args args) {
 *     return exthost_done("{\"status\":200,\"body\":\"Hello\"}");
 *   }
 *   EXTHOST_EXTENSION("{\"routes\":[{\"method\":\"GET\",\"path\":\"/\",\"handler\":0}]}", hello)
 *
 * Handler number N is the N-th function given to EXTHOST_EXTENSION. A handler
 * receives its JSON arguments (the array `[req]`, `[payload, meta, context]`,
 * `[options, context]`) and returns exthost_done(json), exthost_nothing() or
 * exthost_fail(message). Strings passed to exthost_done/fail are copied.
 */
#ifndef EXTHOST_H
#define EXTHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Extism kernel imports ------------------------------------------------ */

typedef uint64_t exthost_ptr;
#define EXTHOST_IMPORT(module, name) __attribute__((import_module(module), import_name(name)))

EXTHOST_IMPORT("extism:host/env", "input_length") extern uint64_t extism_input_length(void);
EXTHOST_IMPORT("extism:host/env", "input_load_u8") extern uint8_t extism_input_load_u8(uint64_t offset);
EXTHOST_IMPORT("extism:host/env", "alloc") extern exthost_ptr extism_alloc(uint64_t length);
EXTHOST_IMPORT("extism:host/env", "length") extern uint64_t extism_length(exthost_ptr offset);
EXTHOST_IMPORT("extism:host/env", "free") extern void extism_free(exthost_ptr offset);
EXTHOST_IMPORT("extism:host/env", "store_u8") extern void extism_store_u8(exthost_ptr offset, uint8_t value);
EXTHOST_IMPORT("extism:host/env", "load_u8") extern uint8_t extism_load_u8(exthost_ptr offset);
EXTHOST_IMPORT("extism:host/env", "output_set") extern void extism_output_set(exthost_ptr offset, uint64_t length);
EXTHOST_IMPORT("extism:host/env", "error_set") extern void extism_error_set(exthost_ptr offset);

/* ---- The directus:api capabilities (results are in-band: tag byte 0 ok, 1 err) */

EXTHOST_IMPORT("directus:api", "log") extern exthost_ptr exthost_host_log(exthost_ptr message);
EXTHOST_IMPORT("directus:api", "sleep") extern exthost_ptr exthost_host_sleep(uint64_t ms);
EXTHOST_IMPORT("directus:api", "request") extern exthost_ptr exthost_host_request(exthost_ptr url, exthost_ptr options);

/* ---- Results -------------------------------------------------------------- */

typedef struct {
  const char *json; /* the JSON text of the handler's arguments (an array) */
  size_t length;
} exthost_args;

typedef struct {
  int state;  /* 0 done, 1 nothing returned, 2 failed */
  char *text; /* malloc'd JSON (done) or message (failed) */
} exthost_result;

typedef exthost_result (*exthost_handler)(exthost_args args);

/* A capability's answer: ok (text is the value, may be empty) or not (text is the message). */
typedef struct {
  bool ok;
  char *text; /* malloc'd, NUL-terminated; free() it */
} exthost_reply;

static inline char *exthost__strndup(const char *s, size_t n) {
  char *copy = (char *)malloc(n + 1);
  if (!copy) return NULL;
  memcpy(copy, s, n);
  copy[n] = '\0';
  return copy;
}

static inline exthost_result exthost_done(const char *json) {
  exthost_result r = {0, exthost__strndup(json, strlen(json))};
  return r;
}
static inline exthost_result exthost_done_n(const char *json, size_t length) {
  exthost_result r = {0, exthost__strndup(json, length)};
  return r;
}
static inline exthost_result exthost_nothing(void) {
  exthost_result r = {1, NULL};
  return r;
}
static inline exthost_result exthost_fail(const char *message) {
  exthost_result r = {2, exthost__strndup(message, strlen(message))};
  return r;
}
/* Report that the guest ran out of memory (e.g. malloc returned NULL): a 500 EXTENSION_OUT_OF_MEMORY. */
static inline exthost_result exthost_out_of_memory(void) {
  exthost_result r = {3, NULL};
  return r;
}

/* ---- Memory helpers ------------------------------------------------------- */

static inline exthost_ptr exthost__put(const char *data, size_t length) {
  exthost_ptr block = extism_alloc(length);
  for (size_t i = 0; i < length; i++) extism_store_u8(block + i, (uint8_t)data[i]);
  return block;
}

static inline char *exthost__take(exthost_ptr block, size_t *length) {
  size_t n = (size_t)extism_length(block);
  char *out = (char *)malloc(n + 1);
  if (!out) return NULL;
  for (size_t i = 0; i < n; i++) out[i] = (char)extism_load_u8(block + i);
  out[n] = '\0';
  extism_free(block);
  if (length) *length = n;
  return out;
}

static inline exthost_reply exthost__reply(exthost_ptr block) {
  size_t n = 0;
  char *raw = exthost__take(block, &n);
  exthost_reply reply = {false, NULL};
  if (!raw || n == 0) {
    reply.text = exthost__strndup("the host sent no answer", 23);
    free(raw);
    return reply;
  }
  reply.ok = raw[0] == 0;
  reply.text = exthost__strndup(raw + 1, n - 1);
  free(raw);
  return reply;
}

/* ---- Capabilities --------------------------------------------------------- */

static inline exthost_reply exthost_log(const char *message) {
  exthost_ptr block = exthost__put(message, strlen(message));
  exthost_reply reply = exthost__reply(exthost_host_log(block));
  extism_free(block);
  return reply;
}

static inline exthost_reply exthost_sleep(uint32_t ms) { return exthost__reply(exthost_host_sleep(ms)); }

/* `options_json`: `{"method":"GET","headers":{},"body":"..."}`; the ok text is the JSON
   `{status, statusText, headers, data}`. */
static inline exthost_reply exthost_request(const char *url, const char *options_json) {
  exthost_ptr u = exthost__put(url, strlen(url));
  exthost_ptr o = exthost__put(options_json, strlen(options_json));
  exthost_reply reply = exthost__reply(exthost_host_request(u, o));
  extism_free(u);
  extism_free(o);
  return reply;
}

/* ---- A very small JSON reader (enough to pick values out of the arguments) --- */

static inline const char *exthost__ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  return p;
}

/* The end of the JSON value starting at p (p itself if it is not one). */
static inline const char *exthost_json_skip(const char *p, const char *end) {
  p = exthost__ws(p, end);
  if (p >= end) return p;
  if (*p == '"') {
    for (p++; p < end; p++) {
      if (*p == '\\') p++;
      else if (*p == '"') return p + 1;
    }
    return end;
  }
  if (*p == '{' || *p == '[') {
    int depth = 0;
    for (; p < end; p++) {
      if (*p == '"') { p = exthost_json_skip(p, end) - 1; continue; }
      if (*p == '{' || *p == '[') depth++;
      if (*p == '}' || *p == ']') { if (--depth == 0) return p + 1; }
    }
    return end;
  }
  while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n') p++;
  return p;
}

/* The raw text of element `index` of the JSON array `json`, or of member `key` of
   an object (pass index -1). Returns false when absent. */
static inline bool exthost_json_find(const char *json, size_t length, const char *key, int index,
                                     const char **value, size_t *value_length) {
  const char *p = exthost__ws(json, json + length), *end = json + length;
  if (p >= end || (*p != '{' && *p != '[')) return false;
  bool object = *p == '{';
  int i = 0;
  p++;
  while (p < end) {
    p = exthost__ws(p, end);
    if (p < end && (*p == '}' || *p == ']')) return false;
    bool match = false;
    if (object) {
      const char *k = p;
      p = exthost_json_skip(p, end);
      size_t klen = strlen(key);
      match = (size_t)(p - k) == klen + 2 && strncmp(k + 1, key, klen) == 0;
      p = exthost__ws(p, end);
      if (p < end && *p == ':') p++;
    } else {
      match = i == index;
    }
    p = exthost__ws(p, end);
    const char *v = p;
    p = exthost_json_skip(p, end);
    if (match) {
      *value = v;
      *value_length = (size_t)(p - v);
      return true;
    }
    p = exthost__ws(p, end);
    if (p < end && *p == ',') p++;
    i++;
  }
  return false;
}

/* Argument `index` of a handler (0: the request / payload / options). */
static inline bool exthost_arg(exthost_args args, int index, const char **value, size_t *length) {
  return exthost_json_find(args.json, args.length, "", index, value, length);
}

/* Member `key` of the JSON object (value, length). */
static inline bool exthost_get(const char *json, size_t length, const char *key, const char **value,
                               size_t *value_length) {
  return exthost_json_find(json, length, key, -1, value, value_length);
}

/* `text` as a JSON string literal, malloc'd. */
static inline char *exthost_json_string(const char *text) {
  size_t n = strlen(text), o = 0;
  char *out = (char *)malloc(n * 6 + 3);
  if (!out) return NULL;
  out[o++] = '"';
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == '"' || c == '\\') { out[o++] = '\\'; out[o++] = (char)c; }
    else if (c == '\n') { out[o++] = '\\'; out[o++] = 'n'; }
    else if (c < 0x20) {
      static const char hex[] = "0123456789abcdef";
      memcpy(out + o, "\\u00", 4); o += 4;
      out[o++] = hex[c >> 4]; out[o++] = hex[c & 15];
    } else out[o++] = (char)c;
  }
  out[o++] = '"';
  out[o] = '\0';
  return out;
}

/* ---- The exports ----------------------------------------------------------- */

static inline char *exthost__input(size_t *length) {
  size_t n = (size_t)extism_input_length();
  char *in = (char *)malloc(n + 1);
  if (!in) return NULL;
  for (size_t i = 0; i < n; i++) in[i] = (char)extism_input_load_u8(i);
  in[n] = '\0';
  *length = n;
  return in;
}

static inline void exthost__output(const char *text, size_t length) {
  exthost_ptr block = exthost__put(text, length);
  extism_output_set(block, length);
}

static inline void exthost__output3(const char *a, const char *b, size_t blen, const char *c) {
  size_t al = strlen(a), cl = strlen(c);
  exthost_ptr block = extism_alloc(al + blen + cl);
  size_t o = 0;
  for (size_t i = 0; i < al; i++) extism_store_u8(block + o++, (uint8_t)a[i]);
  for (size_t i = 0; i < blen; i++) extism_store_u8(block + o++, (uint8_t)b[i]);
  for (size_t i = 0; i < cl; i++) extism_store_u8(block + o++, (uint8_t)c[i]);
  extism_output_set(block, al + blen + cl);
}

static inline int32_t exthost__invoke(const exthost_handler *handlers, size_t count) {
  size_t n = 0;
  char *in = exthost__input(&n);
  const char *v;
  size_t vlen;
  if (!in || !exthost_get(in, n, "handler", &v, &vlen)) {
    const char *bad = "{\"failed\":{\"message\":\"bad invoke input\"}}";
    exthost__output(bad, strlen(bad));
    return 0;
  }
  size_t handler = (size_t)strtoul(v, NULL, 10);
  exthost_args args = {"[]", 2};
  if (exthost_get(in, n, "args", &v, &vlen)) { args.json = v; args.length = vlen; }
  exthost_result r;
  if (handler >= count) r = exthost_fail("no such handler");
  else r = handlers[handler](args);
  free(in);
  if (r.state == 0 && r.text) exthost__output3("{\"done\":", r.text, strlen(r.text), "}");
  else if (r.state == 1) exthost__output("{}", 2);
  else if (r.state == 3 || !r.text) {
    const char *oom = "{\"failed\":{\"message\":\"out of memory\",\"fault\":\"out-of-memory\"}}";
    exthost__output(oom, strlen(oom));
  } else {
    char *message = exthost_json_string(r.text);
    if (!message) {
      const char *oom = "{\"failed\":{\"message\":\"out of memory\",\"fault\":\"out-of-memory\"}}";
      exthost__output(oom, strlen(oom));
      free(r.text);
      return 0;
    }
    exthost__output3("{\"failed\":{\"message\":", message, strlen(message), "}}");
    free(message);
  }
  free(r.text);
  return 0;
}

/* For a hand-written `register` export: the RegisterContext JSON (`{"kind","name"}`), malloc'd. */
static inline char *exthost_register_context(size_t *length) { return exthost__input(length); }

/* For a hand-written `register` export: send the Registration JSON (`kind`/`name` may be left out). */
static inline int32_t exthost_registered(const char *registration_json) {
  exthost__output(registration_json, strlen(registration_json));
  return 0;
}

/* The `invoke` export over these handlers (handler N is the N-th). */
#define EXTHOST_HANDLERS(...)                                                                  \
  static const exthost_handler exthost__handlers[] = {__VA_ARGS__};                           \
  __attribute__((export_name("invoke"))) int32_t exthost__invoke_export(void) {               \
    return exthost__invoke(exthost__handlers, sizeof exthost__handlers / sizeof *exthost__handlers); \
  }

/* `register` (a fixed registration) and `invoke`. */
#define EXTHOST_EXTENSION(registration_json, ...)                                              \
  EXTHOST_HANDLERS(__VA_ARGS__)                                                               \
  __attribute__((export_name("register"))) int32_t exthost__register(void) {                  \
    return exthost_registered(registration_json);                                             \
  }

#ifdef __cplusplus
}
#endif
#endif /* EXTHOST_H */
