"""The examples of the Directus flows docs, built through the REST API exactly as the
docs build them (create the flow, create its operations with null links, link them,
set the entry point), then run."""

from __future__ import annotations

from fastapi.testclient import TestClient

from host.flows.triggers.schedule import next_tick
from tests.flows.conftest import Api
from tests.flows.servers import SMTPSink
from tests.support import ADMIN, wait_for


def test_post_approval_email(api: Api, flows_host: TestClient, smtp: SMTPSink) -> None:
    flow_id, _ = api.build(
        {
            "name": "[Website] Post Approval",
            "icon": "mark_email_read",
            "color": "#18222F",
            "description": "Send email when posts are ready for review",
            "status": "active",
            "trigger": "event",
            "accountability": "all",
            "options": {"type": "action", "scope": ["items.update"], "collections": ["posts"]},
        },
        [
            {
                "key": "check_status",
                "type": "condition",
                "options": {"filter": {"$trigger": {"payload": {"status": {"_eq": "published"}}}}},
            },
            {
                "key": "send_email",
                "type": "mail",
                "options": {"to": ["admin@example.com"], "subject": "New post", "body": "{{$trigger.payload.title}}"},
            },
            {"key": "not_ready", "type": "log", "options": {"message": "post {{ $trigger.keys }} is not published"}},
        ],
        links=[("check_status", "resolve", "send_email"), ("check_status", "reject", "not_ready")],
        entry="check_status",
    )
    post = flows_host.post("/items/posts", json={"title": "Draft", "status": "draft"}, headers=ADMIN).json()["data"]
    before = len(smtp.received)

    flows_host.patch(f"/items/posts/{post['id']}", json={"status": "review"}, headers=ADMIN)
    first = wait_for(lambda: api.runs(flow_id))
    assert [(s["key"], s["status"]) for s in first[0]["steps"]] == [("check_status", "reject"), ("not_ready", "resolve")]
    assert len(smtp.received) == before

    flows_host.patch(
        f"/items/posts/{post['id']}", json={"status": "published", "title": "Flows are here"}, headers=ADMIN
    )
    mail = wait_for(lambda: smtp.received[before:])[0]
    assert mail.recipients == ["admin@example.com"]
    assert mail.message["Subject"] == "New post"
    assert mail.message["From"] == "flows@example.com"
    texts = [part.get_payload(decode=True).decode() for part in mail.message.walk() if not part.is_multipart()]
    assert "Flows are here" in texts[0]
    assert any("<p>Flows are here</p>" in text for text in texts[1:])
    runs = wait_for(lambda: len(api.runs(flow_id)) == 2 and api.runs(flow_id))
    assert [s["key"] for s in runs[0]["steps"]] == ["check_status", "send_email"]
    assert runs[0]["steps"][1]["options"]["body"] == "Flows are here"


SLUGIFY = """module.exports = function (data) {
  const title = String(data.$trigger.payload.title || '');
  return { slug: title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/(^-|-$)/g, '') };
};"""


def test_slugify_on_create(api: Api, flows_host: TestClient) -> None:
    api.build(
        {
            "name": "[Website] Slugify",
            "icon": "link",
            "color": "#18222F",
            "description": "Generate slugs for pages, posts, and categories",
            "status": "active",
            "trigger": "event",
            "accountability": "all",
            "options": {"type": "action", "scope": ["items.create"], "collections": ["pages", "posts", "categories"]},
        },
        [
            {"key": "slugify", "type": "exec", "options": {"code": SLUGIFY}},
            {
                "key": "save_slug",
                "type": "item-update",
                "options": {
                    "collection": "{{ $trigger.collection }}",
                    "key": "{{ $trigger.key }}",
                    "payload": {"slug": "{{ slugify.slug }}"},
                },
            },
        ],
        links=[("slugify", "resolve", "save_slug")],
    )
    page = flows_host.post("/items/pages", json={"title": "Hello World, Flows!"}, headers=ADMIN).json()["data"]

    def slug() -> object:
        return flows_host.get(f"/items/pages/{page['id']}", headers=ADMIN).json()["data"].get("slug")

    assert wait_for(slug) == "hello-world-flows"


def test_scheduled_flow(api: Api, flows_host: TestClient) -> None:
    daily = api.post(
        "/flows",
        {"name": "Daily Report", "trigger": "schedule", "status": "active", "options": {"cron": "0 0 9 * * *"}},
    )
    assert daily["options"] == {"cron": "0 0 9 * * *"}
    assert next_tick("0 0 9 * * *", next_tick("0 0 9 * * *", __import__("datetime").datetime(2030, 1, 1))).hour == 9

    flow_id, _ = api.build(  # built inactive: a tick before its operation is attached would run nothing
        {"name": "Every second", "trigger": "schedule", "status": "inactive", "options": {"cron": "* * * * * *"}},
        [{"key": "tick", "type": "item-create", "options": {"collection": "ticks", "payload": {"flow": "every-second"}, "permissions": "$full"}}],
    )
    api.patch(f"/flows/{flow_id}", {"status": "active"})

    def items(collection: str) -> list[dict[str, object]]:
        response = flows_host.get(f"/items/{collection}", headers=ADMIN)
        if response.status_code == 404:  # no item yet
            return []
        data = response.json()["data"]
        assert isinstance(data, list)
        return data

    def ticks() -> list[dict[str, object]]:
        return items("ticks")

    wait_for(lambda: len(ticks()) >= 2, "two ticks of the every-second schedule")
    api.patch(f"/flows/{flow_id}", {"status": "inactive"})
    # a tick claimed just before the change may still be running: wait until every run is logged
    wait_for(lambda: len(api.runs(flow_id)) == len(ticks()), "every tick's run in the log")
    runs = api.runs(flow_id)
    assert all(run["status"] == "resolve" for run in runs)
    starts = [r["started_at"][:19] for r in runs]
    assert len(set(starts)) == len(starts), "a tick ran twice"
    # another every-second schedule runs twice more: ticks went by, and the inactive flow ran none
    sentinel, _ = api.build(
        {"name": "Sentinel", "trigger": "schedule", "status": "inactive", "options": {"cron": "* * * * * *"}},
        [{"key": "tick", "type": "item-create", "options": {"collection": "sentinel", "payload": {}, "permissions": "$full"}}],
    )
    api.patch(f"/flows/{sentinel}", {"status": "active"})
    wait_for(lambda: len(items("sentinel")) >= 2, "two sentinel ticks")
    api.patch(f"/flows/{sentinel}", {"status": "inactive"})
    assert len(api.runs(flow_id)) == len(runs), "an inactive flow kept running"


def test_webhook_flow_returns_chosen_key(api: Api, flows_host: TestClient) -> None:
    flow_id, _ = api.build(
        {
            "name": "Hello webhook",
            "trigger": "webhook",
            "options": {"method": "POST", "async": False, "return": "transform_result", "cache": False},
        },
        [
            {"key": "transform_result", "type": "transform", "options": {"json": {"greeting": "Hi {{ $trigger.body.name }}"}}},
            {"key": "after", "type": "log", "options": {"message": "done"}},
        ],
        links=[("transform_result", "resolve", "after")],
    )
    response = flows_host.post(f"/flows/trigger/{flow_id}", json={"name": "Ada"})
    assert response.status_code == 200
    assert response.json() == {"greeting": "Hi Ada"}


def test_flow_chaining_through_a_utility_flow(api: Api, flows_host: TestClient) -> None:
    util_id, _ = api.build(
        {"name": "[Util] Get Globals", "trigger": "operation", "accountability": "all", "options": {"return": "global_data"}},
        [{"key": "global_data", "type": "transform", "options": {"json": {"site": "exthost", "for": "{{ $trigger.who }}"}}}],
    )
    main_id, _ = api.build(
        {"name": "Main", "trigger": "webhook", "options": {"method": "POST", "return": "$last"}},
        [
            {"key": "globals", "type": "trigger", "options": {"flow": util_id, "payload": {"who": "{{ $trigger.body.who }}"}}},
            {"key": "use", "type": "transform", "options": {"json": {"title": "{{ globals.site }} for {{ globals.for }}"}}},
        ],
        links=[("globals", "resolve", "use")],
    )
    response = flows_host.post(f"/flows/trigger/{main_id}", json={"who": "Grace"})
    assert response.json() == {"title": "exthost for Grace"}
    assert api.runs(util_id)[0]["data"]["$trigger"] == {"who": "Grace"}


def test_manual_flow_with_confirmation(api: Api, flows_host: TestClient) -> None:
    flow_id, _ = api.build(
        {
            "name": "[Projects] Create Project",
            "trigger": "manual",
            "status": "active",
            "options": {
                "collections": ["os_projects", "organizations"],
                "requireSelection": False,
                "requireConfirmation": True,
                "confirmationDescription": "Create a New Project",
                "fields": [
                    {"field": "name", "type": "string", "name": "Project Name", "meta": {"interface": "input", "required": True}},
                    {"field": "organization", "type": "json", "name": "Organization", "meta": {"required": True}},
                ],
            },
        },
        [
            {
                "key": "create",
                "type": "item-create",
                "options": {
                    "collection": "os_projects",
                    "payload": {"name": "{{ $trigger.body.name }}", "organization": "{{ $trigger.body.organization }}"},
                },
            }
        ],
    )
    url = f"/flows/trigger/{flow_id}"
    body = {"collection": "organizations", "keys": [], "name": "Apollo", "organization": 7}
    assert flows_host.post(url, json=body).status_code == 401
    assert flows_host.get(url, headers=ADMIN).status_code == 404
    missing = flows_host.post(url, json={**body, "name": ""}, headers=ADMIN)
    assert missing.status_code == 400 and '"name"' in missing.json()["errors"][0]["message"]
    wrong = flows_host.post(url, json={**body, "collection": "users"}, headers=ADMIN)
    assert wrong.status_code == 403 and "collection" in wrong.json()["errors"][0]["message"]
    created = flows_host.post(url, json=body, headers=ADMIN)
    assert created.status_code == 200
    [key] = created.json()  # item-create answers the list of created keys, as in Directus
    project = flows_host.get(f"/items/os_projects/{key}", headers=ADMIN).json()["data"]
    assert project["name"] == "Apollo" and project["organization"] == 7
    assert api.runs(flow_id)[0]["user"] == "admin"
