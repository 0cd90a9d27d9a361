"""The shared cache that throttles and login lockouts count in.

With ``REDIS_URL`` (or ``CPUKB_CACHE_URL``) every gunicorn worker, on every machine, counts in
the same Redis, so a limit holds for the whole site rather than per process. Celery's broker may
live in the same Redis database: ``clear()`` therefore deletes this cache's own keys (those under
its ``KEY_PREFIX``) instead of Django's ``FLUSHDB``, which would also drop the task queue.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache


class PrefixedRedisCache(RedisCache):
    """Django's Redis cache whose ``clear()`` removes only keys under its own prefix."""

    def clear(self) -> bool:
        client = self._cache.get_client(None, write=True)
        pattern = self.make_key("*").replace(f":{self.version}:*", ":*")
        deleted = False
        batch: list[bytes] = []
        for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                deleted = bool(client.delete(*batch)) or deleted
                batch.clear()
        if batch:
            deleted = bool(client.delete(*batch)) or deleted
        return deleted
