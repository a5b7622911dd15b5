"""ASGI entry point. Importing it checks the keys."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platos.settings")
application = get_asgi_application()
