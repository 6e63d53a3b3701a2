"""A Django project around django-oauth-toolkit that answers like GitLab's OAuth (Doorkeeper).

Run only by `tests/providers/dot.py`, with this directory's parent on PYTHONPATH and
DJANGO_SETTINGS_MODULE=gitlab_dot.settings. The parent directory has no ``__init__.py`` on
purpose: ``tests.providers.dot`` must stay the module ``dot.py``.
"""
