from directus_api import HostError, endpoint, log, request

router = endpoint("conformance-py")


@router.get("/echo/:id")
def echo(req):
    return {"status": 200, "body": {"params": req["params"], "query": req["query"]}}


@router.post("/echo/:id")
async def echo_body(req):
    return {"status": 201, "body": {"params": req["params"], "query": req["query"], "body": req["body"]}}


@router.get("/text")
def text(req):
    return {"status": 200, "body": "plain text"}


@router.get("/log")
def logged(req):
    log("conformance")
    return {"status": 200, "body": {"logged": True}}


@router.get("/denied")
async def denied(req):
    try:
        await request("https://example.com/")
        return {"status": 200, "body": {"denied": False}}
    except HostError as error:
        return {"status": 403, "body": {"error": str(error)}}


@router.get("/loop")
def loop(req):
    while True:
        pass


@router.get("/bomb")
def bomb(req):
    keep = []
    while True:
        keep.append([1] * (1 << 20))
