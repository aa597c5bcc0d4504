"""GET /python-hello/, GET /python-hello/greet/:name?excited=1, POST /python-hello/reverse (text or JSON)."""

from directus_api import EndpointRequest, EndpointResponse, endpoint, log, sleep

router = endpoint("python-hello")


@router.get("/")
def index(req: EndpointRequest) -> EndpointResponse:
    return {"status": 200, "body": "Hello from Python!"}


@router.get("/greet/:name")
def greet(req: EndpointRequest) -> EndpointResponse:
    name = req["params"]["name"]
    log(f"greeting {name}")
    mark = "!" if req["query"].get("excited") else "."
    return {"status": 200, "body": {"greeting": f"Hello, {name}{mark}"}}


@router.post("/reverse")
async def reverse(req: EndpointRequest) -> EndpointResponse:
    await sleep(5)
    body = req["body"]
    if isinstance(body, str):
        return {"status": 200, "body": body[::-1]}
    return {"status": 200, "body": {"reversed": list(reversed(body)) if isinstance(body, list) else body}}
