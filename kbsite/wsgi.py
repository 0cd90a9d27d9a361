"""WSGI entry point for gunicorn: `gunicorn kbsite.wsgi:application`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kbsite.settings")

application = get_wsgi_application()
