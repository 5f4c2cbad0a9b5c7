"""Redis cache whose clear() deletes only its own keys (the Celery broker may share the Redis database)."""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache


class PrefixedRedisCache(RedisCache):
    """django's RedisCache, except that clear() removes the keys of this KEY_PREFIX instead of FLUSHDB."""

    def clear(self) -> None:
        client = self._cache.get_client(None, write=True)
        pattern = f"{self.key_prefix}:*" if self.key_prefix else "*"
        batch = []
        for key in client.scan_iter(match=pattern, count=500):
            batch.append(key)
            if len(batch) >= 500:
                client.delete(*batch)
                batch.clear()
        if batch:
            client.delete(*batch)
