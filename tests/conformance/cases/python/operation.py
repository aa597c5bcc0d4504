from directus_api import operation


@operation("conformance")
def run(options, context):
    if options.get("fail"):
        raise RuntimeError(f"operation rejected: {options['reason']}")
    return {"ok": True, "value": options.get("value"), "keys": len(context["data"])}
