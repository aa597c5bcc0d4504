from directus_api import filter


@filter("items.create")
def touch(payload):
    return {**payload, "touched": True}


@filter("items.update")
def reject(payload):
    raise ValueError("rejected by the conformance hook")
