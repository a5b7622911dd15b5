"""WSGI entry point (gunicorn platos.wsgi). Importing it checks the keys."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platos.settings")
application = get_wsgi_application()
