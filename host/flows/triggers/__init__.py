"""How flows start: events (`event`), HTTP (`webhook`, `manual`), time (`schedule`).
A flow with an `operation` trigger is started by another flow's `trigger` operation."""
