"""Directus Flows: a trigger starts a chain of operations that pass a data chain along.

- `models`: the flow and operation records and their input validation;
- `graph`: checks on a flow's operations (links inside the flow, keys, endless cycles);
- `repository` / `tables`: storage (tables created by migration m0002);
- `chain`: the data chain and `{{ path }}` templating (parsed once per revision of a flow);
- `filters`: Directus filter rules, evaluated in memory;
- `runner`: runs one flow, step by step; `guard`: the recursion guard;
- `runlog`: the run log, redaction and retention; `logwriter`: its batches, off the request path;
- `triggers/`: event, webhook/manual, schedule; `manager`: wires them to the active flows;
- `operations/`: the one operation registry, built-ins and extension operations.
"""
