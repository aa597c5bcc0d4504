/* Operation "c-sum": {"numbers": [1, 2.5, ...]} -> {"sum": 3.5, "count": 2}; rejects a non-number. */
#include "exthost.h"
#include <stdio.h>

static exthost_result sum(exthost_args args) {
  const char *options, *numbers, *item;
  size_t options_len, numbers_len, item_len;
  if (!exthost_arg(args, 0, &options, &options_len) ||
      !exthost_get(options, options_len, "numbers", &numbers, &numbers_len) || numbers[0] != '[')
    return exthost_fail("c-sum needs a \"numbers\" array option");
  double total = 0;
  int count = 0;
  while (exthost_json_find(numbers, numbers_len, "", count, &item, &item_len)) {
    char buffer[64], *end;
    snprintf(buffer, sizeof buffer, "%.*s", (int)item_len, item);
    double value = strtod(buffer, &end);
    if (end == buffer || *end != '\0') return exthost_fail("c-sum: every element of \"numbers\" must be a number");
    total += value;
    count++;
  }
  char out[128];
  snprintf(out, sizeof out, "{\"sum\":%.17g,\"count\":%d}", total, count);
  return exthost_done(out);
}

EXTHOST_EXTENSION("{\"operation\":{\"id\":\"c-sum\",\"handler\":0}}", sum)
