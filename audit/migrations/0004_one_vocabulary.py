"""Map the old ``subject_type`` spellings to ``AuditEvent.Subject`` and re-chain what changed.

What changes (actions keep their stored values, so no action is mapped):

* ``entities.connectedentity`` -> ``entity``; such rows also stop naming the entity
  in ``key`` (it holds a stored secret's name): the slug moves to ``extra.slug``.
* ``messages_app.thread`` / ``.message`` / ``.safetyevent`` -> ``thread`` /
  ``message`` / ``safety_event`` (the lower-cased model labels of the admin audit).

The hash chain: ``row_hash`` covers ``subject_type``, ``key`` and ``extra``, so the
mapped rows and every row after them need new hashes. We re-chain rather than keep
the old text: keeping it would mean either two spellings in the table forever
(every filter and reader knowing both) or a verifier that accepts aliases. The
re-chain is done so that it launders nothing and hides nothing:

1. Everything runs in the migration's one transaction. On PostgreSQL the
   append-only trigger (0003) refuses UPDATE even during a purge, so the
   migration disables it with ``ALTER TABLE ... DISABLE TRIGGER``: that also takes
   an ACCESS EXCLUSIVE lock (no audit writer can append meanwhile), and being DDL
   inside the transaction it is undone by a rollback; it is enabled again before
   the commit. SQLite has no trigger and serialises writers itself.
2. The chain is verified as it stands first. If it does not verify, the
   migration stops with an error (re-chaining would bless the tampering); run
   ``manage.py verify_audit_chain`` and investigate before migrating.
3. Rows before the first mapped row keep their hashes; from it on, ``prev_hash``
   and ``row_hash`` are recomputed in id order with ``audit.chain``.
4. One ``audit.rechain`` row is appended whose ``extra`` names the old head hash,
   the first re-chained id and the number of rows re-hashed: whoever kept the old
   head outside the database can see where and why the chain was rewritten.

When no row needs mapping (a new installation) nothing is touched. Reversing the
migration changes no row: the new spellings stay (the chain stays valid).
"""

from django.db import migrations
from django.utils import timezone

from audit import chain

GENESIS_HASH = "0" * 64
BATCH = 1000
TABLE = "audit_auditevent"
TRIGGER = "audit_auditevent_append_only"
ENTITY_OLD = "entities.connectedentity"
SUBJECTS = {
    ENTITY_OLD: "entity",
    "messages_app.thread": "thread",
    "messages_app.message": "message",
    "messages_app.safetyevent": "safety_event",
}
FIELDS = ("id", "prev_hash", "row_hash", *chain.HASHED_FIELDS)


def _rows(Event, *, after_id=0):
    """Every row with id > after_id, in id order, as the database gives them back, in batches."""
    while True:
        batch = list(Event.objects.filter(id__gt=after_id).order_by("id").values(*FIELDS)[:BATCH])
        yield from batch
        if len(batch) < BATCH:
            return
        after_id = batch[-1]["id"]


def _purge_anchor(Event):
    for extra in Event.objects.filter(action="audit.purge").order_by("-id").values_list("extra", flat=True):
        if isinstance(extra, dict) and "anchor_hash" in extra:
            return int(extra["anchor_id"]), str(extra["anchor_hash"])
    return None


def _verify(Event) -> str:
    """The head hash of a chain that verifies (same rules as audit_chain_verify); raises otherwise."""
    anchor = _purge_anchor(Event)
    prev = None
    for row in _rows(Event):
        if chain.row_hash(row, row["prev_hash"]) != row["row_hash"]:
            problem = f"row {row['id']} was altered"
        elif prev is None:
            starts = {GENESIS_HASH} | ({anchor[1]} if anchor else set())
            too_old = anchor is not None and row["id"] <= anchor[0]
            problem = f"row {row['id']} does not start the chain" if too_old or row["prev_hash"] not in starts else ""
        else:
            problem = "" if row["prev_hash"] == prev else f"row {row['id']} does not follow the row before it"
        if problem:
            raise RuntimeError(
                f"audit.0004 refuses to re-chain an audit log that does not verify ({problem}). "
                "Run manage.py verify_audit_chain, investigate, then migrate again."
            )
        prev = row["row_hash"]
    return prev or GENESIS_HASH


def _map_spellings(Event) -> int | None:
    """Rewrite the old spellings; returns the smallest id changed, or None."""
    first = Event.objects.filter(subject_type__in=list(SUBJECTS)).order_by("id").values_list("id", flat=True).first()
    if first is None:
        return None
    entities = Event.objects.filter(subject_type=ENTITY_OLD).exclude(key="").order_by("id")
    pending = []
    for event in entities.only("id", "key", "extra").iterator(chunk_size=BATCH):
        event.extra = {"slug": event.key, **(event.extra or {})}
        event.key = ""
        pending.append(event)
        if len(pending) == BATCH:
            Event.objects.bulk_update(pending, ["key", "extra"])
            pending = []
    Event.objects.bulk_update(pending, ["key", "extra"])
    for old, new in SUBJECTS.items():
        Event.objects.filter(subject_type=old).update(subject_type=new)
    return first


def _rechain(Event, first_id: int) -> int:
    """Recompute prev_hash/row_hash from row ``first_id`` on; returns how many rows were re-hashed."""
    before = Event.objects.filter(id__lt=first_id).order_by("-id").values_list("row_hash", flat=True).first()
    prev = before or Event.objects.filter(id=first_id).values_list("prev_hash", flat=True).get()
    count, pending = 0, []
    for row in _rows(Event, after_id=first_id - 1):
        new_hash = chain.row_hash(row, prev)
        pending.append(Event(id=row["id"], prev_hash=prev, row_hash=new_hash))
        prev, count = new_hash, count + 1
        if len(pending) == BATCH:
            Event.objects.bulk_update(pending, ["prev_hash", "row_hash"])
            pending = []
    Event.objects.bulk_update(pending, ["prev_hash", "row_hash"])
    return count


def _append_rechain_row(Event, *, old_head: str, first_id: int, count: int) -> None:
    head = Event.objects.order_by("-id").values_list("row_hash", flat=True).first()
    event = Event(
        ts=timezone.now(), action="audit.rechain", actor="system:migrate", key="", scope="", project="",
        subject_type="", subject_id="", success=True, reason="audit.0004_one_vocabulary", request_id="",
        client_ip=None, user_agent="", actor_user_id=None,
        extra={"old_head": old_head, "from_id": first_id, "rehashed": count},
    )
    event.prev_hash = head
    event.row_hash = chain.row_hash({name: getattr(event, name) for name in chain.HASHED_FIELDS}, head)
    event.save(force_insert=True)


def forwards(apps, schema_editor):
    Event = apps.get_model("audit", "AuditEvent")
    if not Event.objects.filter(subject_type__in=list(SUBJECTS)).exists():
        return  # nothing spelled the old way: no row and no hash changes
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TRIGGER}", params=None)
    old_head = _verify(Event)
    first_id = _map_spellings(Event)
    count = _rechain(Event, first_id)
    if postgres:
        schema_editor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER {TRIGGER}", params=None)
    _append_rechain_row(Event, old_head=old_head, first_id=first_id, count=count)


class Migration(migrations.Migration):

    atomic = True  # the trigger switch, the re-chain and the marker row commit together or not at all

    dependencies = [
        ("audit", "0003_append_only_trigger"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
