"""Benchmark: list 100 messages of 2 KB through the API, encrypted vs a plain TextField.

Run on PostgreSQL (not a timed test; prints figures):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/platos python tests/bench/bench_messages.py

It creates the test database (``test_<name>``) with migrations, writes its rows,
times ``GET /agent/v1/threads/{id}/messages/?limit=100`` (decrypting 100 contents,
the real view) against a view that takes the same steps over the same rows stored
in ``tests.testapp.PlainMessage`` (Message's shape with plain ``TextField``s),
interleaved, through an authenticated Django test Client, prints the medians and
the ratio, then drops the database. Target: ratio <= 1.3.
"""

from __future__ import annotations

import os
import random
import statistics
import string
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platos.settings_test")

ROWS, SIZE, WARMUP, REPS = 100, 2048, 5, 41


def main() -> int:
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("bench_messages needs DATABASE_URL=postgres://... (the figures are for PostgreSQL)", file=sys.stderr)
        return 2
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client, override_settings
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases
    from django.urls import include, path
    from rest_framework.views import APIView


    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        from messages_app import selectors, services
        from messages_app.api import StaffApi, ThreadMessagesApi
        from messages_app.serializers import MessageListQuerySerializer, MessageOutputSerializer
        from platos.api import CursorPage
        from tests.testapp.models import PlainMessage

        class PlainListApi(APIView):
            """The baseline: ThreadMessagesApi's exact steps (auth, query check, thread
            lookup, page, tool-call query, the same output serializer) over the same rows
            stored in plain TextFields. What differs is the decryption."""

            permission_classes = StaffApi.permission_classes
            ordering = ThreadMessagesApi.ordering

            def get(self, request, thread_id):
                query = MessageListQuerySerializer(data=request.query_params)
                query.is_valid(raise_exception=True)
                thread = selectors.thread_get(thread_id=thread_id)
                rows = PlainMessage.objects.filter(thread_id=thread.pk, status="active")
                paginator = CursorPage()
                page = selectors.message_tool_calls_attach(
                    messages=paginator.paginate_queryset(rows, request, view=self)
                )
                return paginator.get_paginated_response(MessageOutputSerializer(page, many=True).data)

        urls = types.ModuleType("bench_messages_urls")
        urls.urlpatterns = [
            path("bench/plain/<uuid:thread_id>/", PlainListApi.as_view()),
            path("", include("platos.urls")),
        ]
        sys.modules[urls.__name__] = urls

        rng = random.Random(7)
        texts = ["".join(rng.choices(string.ascii_letters + " ", k=SIZE)) for _ in range(ROWS)]
        from django.contrib.auth.models import Permission

        user = get_user_model().objects.create_user("bench", "b@example.com", "pw", is_staff=True)
        user.user_permissions.add(Permission.objects.get(codename="view_message_plaintext"))
        thread = services.thread_create(title="bench", created_by=user)
        for text in texts:
            services.message_create(thread=thread, role="user", content=text)
        PlainMessage.objects.bulk_create(
            [
                PlainMessage(thread_id=thread.pk, sequence=m.sequence, role=m.role, content=m.content,
                             thinking_content=m.thinking_content, status=m.status, revision=m.revision,
                             created_at=m.created_at)
                for m in selectors.message_list(thread=thread)
            ]
        )

        client = Client()
        client.force_login(user)
        targets = {
            "encrypted": f"/agent/v1/threads/{thread.pk}/messages/?limit={ROWS}",
            "plain": f"/bench/plain/{thread.pk}/?limit={ROWS}",
        }
        times: dict[str, list[float]] = {name: [] for name in targets}
        with override_settings(ROOT_URLCONF=urls.__name__):
            for name, url in targets.items():  # correctness before speed
                body = client.get(url).json()
                assert [m["content"] for m in body["results"]] == texts, name
            for i in range(WARMUP + REPS):
                order = list(targets) if i % 2 == 0 else list(reversed(targets))
                for name in order:
                    start = time.perf_counter()
                    response = client.get(targets[name])
                    elapsed = time.perf_counter() - start
                    assert response.status_code == 200
                    if i >= WARMUP:
                        times[name].append(elapsed)
        med = {name: statistics.median(values) * 1000 for name, values in times.items()}
        ratio = med["encrypted"] / med["plain"]
        print(f"list {ROWS} messages of {SIZE} B through the API, {REPS} interleaved runs, PostgreSQL")
        for name in targets:
            q1, _, q3 = statistics.quantiles(times[name], n=4)
            print(f"  {name:9s} median {med[name]:7.2f} ms  (IQR {q1 * 1000:.2f}-{q3 * 1000:.2f} ms)")
        print(f"  ratio encrypted/plain: {ratio:.2f}x (target <= 1.3x)")
        return 0 if ratio <= 1.3 else 1
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
