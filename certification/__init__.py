"""The certification procedure (社会保险待遇领取资格认证): rules and use cases.

Imports nothing from Flask, SQLAlchemy, Celery or MinIO. Rules are plain
functions and classes; use cases in ``certification.services`` talk to the
outside world through the protocols in ``certification.ports``.
"""
